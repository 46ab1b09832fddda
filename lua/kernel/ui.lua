-- kernel.nvim: answers the user asked for, shown where they asked: the K float, completion,
-- the history buffer, the traceback's quickfix list, jumps from the output to the source, and
-- the picker of kernels.
-- Each arrives some time after the key press, so each first checks the user is still there.

-- Module definition ==========================================================
local M = {}
local H = {}

local api = vim.api
local output = require('kernel.output')
local hl = require('kernel.highlights')

--- Show the answers an update holds (float, complete, history, quickfix, jump, pick).
---@param u table
function M.show(u)
  -- Scheduled: complete() and windows need the editor outside this RPC call.
  vim.schedule(function()
    for _, kind in ipairs(H.kinds) do
      if u[kind] then
        H[kind](u[kind])
      end
    end
  end)
end

-- Helper data ================================================================
-- The keys of an update this module shows, in the order it shows them; each has its H function.
H.kinds = { 'float', 'complete', 'quickfix', 'jump', 'history', 'pick' }

-- Helper functionality =======================================================
function H.highlight(buf, highlights)
  for _, h in ipairs(highlights or {}) do
    hl.define(h[4])
    api.nvim_buf_set_extmark(buf, output.ns, h[1], h[2], { end_col = h[3], hl_group = h[4] })
  end
end

-- The cursor is where it was when the user asked.
function H.still_at(where)
  if not where or api.nvim_get_current_win() ~= where.win then
    return false
  end
  local cursor = api.nvim_win_get_cursor(0)
  return cursor[1] == where.line and cursor[2] + 1 == where.col
end

-- What the kernel knows about the name under the cursor, in a float that closes when the
-- cursor moves.
function H.float(f)
  if not H.still_at(f.where) then
    return
  end
  local buf = vim.lsp.util.open_floating_preview(output.lines(f.text), '', {
    focus_id = 'kernel_inspect',
    close_events = { 'CursorMoved', 'CursorMovedI', 'InsertEnter', 'BufLeave', 'WinLeave' },
    max_width = math.max(40, math.floor(vim.o.columns * 0.8)),
    max_height = math.max(10, math.floor(vim.o.lines * 0.6)),
  })
  H.highlight(buf, f.highlights)
end

-- Completion answered: show the matches if the cursor stayed in Insert mode where it was.
function H.complete(c)
  if api.nvim_get_mode().mode:sub(1, 1) == 'i' and H.still_at(c.where) then
    vim.fn.complete(c.start + 1, c.items)
  end
end

-- The frames of the last traceback, mapped to the lines they were sent from.
function H.quickfix(q)
  vim.fn.setqflist({}, ' ', { title = 'kernel traceback', items = q.items })
  if q.open then
    vim.cmd('botright copen')
  end
end

-- <CR> in the output: open the code of the frame, in the window the user came from.
function H.jump(place)
  if api.nvim_buf_get_name(0):match('^kernel://') then
    vim.cmd('wincmd p')
    if api.nvim_buf_get_name(0):match('^kernel://') then
      vim.cmd('aboveleft split')
    end
  end
  if place.bufnr and api.nvim_buf_is_valid(place.bufnr) then
    api.nvim_set_current_buf(place.bufnr)
  else
    vim.cmd.edit(vim.fn.fnameescape(place.filename))
  end
  api.nvim_win_set_cursor(0, { math.min(place.lnum, api.nvim_buf_line_count(0)), 0 })
end

-- The kernel's input history as cells (`# In [7]:` markers), to read, edit and send again.
function H.history(h)
  local buf = vim.fn.bufnr('^' .. h.name .. '$')
  if buf <= 0 then
    buf = api.nvim_create_buf(false, true)
    api.nvim_buf_set_name(buf, h.name)
  end
  local bo = vim.bo[buf]
  bo.buftype, bo.bufhidden, bo.swapfile = 'nofile', 'hide', false
  if h.language ~= '' and bo.filetype ~= h.language then
    bo.filetype = h.language
  end
  local marker = bo.commentstring:find('%s', 1, true) and bo.commentstring or '# %s'
  local lines = {}
  for _, entry in ipairs(h.entries) do
    lines[#lines + 1] = marker:gsub('%%s', 'In [' .. entry[1] .. ']:', 1)
    vim.list_extend(lines, output.lines(entry[2]))
  end
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  local wins = vim.fn.win_findbuf(buf)
  if #wins > 0 then
    api.nvim_set_current_win(wins[1])
  else
    vim.cmd('aboveleft split')
    api.nvim_set_current_buf(buf)
  end
  api.nvim_win_set_cursor(0, { #lines, 0 })
end

-- :KernelConnect without a name, :KernelList, :KernelConnect {server}: the kernels, one line
-- each, through vim.ui.select (a picker plugin's, if one replaced it). The choice connects as
-- `:KernelConnect {target}` would; a server's "new" lines start as `:KernelStart {target}`.
function H.pick(p)
  vim.ui.select(p.items, {
    prompt = p.prompt,
    kind = 'kernel',
    format_item = function(item)
      return item.label
    end,
  }, function(item)
    if item and item.command == 'start' then
      vim.fn['kernel#start'](item.target)
    elseif item then
      vim.fn['kernel#connect'](item.target)
    end
  end)
end

return M
