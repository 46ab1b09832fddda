-- kernel.nvim: the output buffer's editor side.
--
-- The Python host calls update() once per batch of kernel output, with everything that changed:
-- lines trimmed at the top and a tail to replace, their highlights, whether to show the window,
-- the status and the messages. One call, so a flood of output costs few round trips, and the
-- windows that were at the bottom stay there.

local M = {}

local api = vim.api
local hl = require('kernel.highlights')
local ns = api.nvim_create_namespace('kernel_output')
local buffers = {} -- buffer name -> bufnr

local positions = {
  right = 'botright vertical',
  left = 'topleft vertical',
  below = 'botright',
  above = 'topleft',
}

local function create(name)
  local existing = vim.fn.bufnr('^' .. name .. '$')
  local buf = existing > 0 and existing or api.nvim_create_buf(false, true)
  if existing <= 0 then
    api.nvim_buf_set_name(buf, name)
  end
  local bo = vim.bo[buf]
  bo.buftype, bo.bufhidden, bo.swapfile, bo.buflisted = 'nofile', 'hide', false, false
  bo.undolevels = -1 -- a million lines of output must not be kept twice
  bo.modifiable = false
  -- On a traceback's line: open the code it names (the host knows which cell came from where).
  vim.keymap.set('n', '<CR>', function()
    vim.fn['kernel#rpc']('jump', vim.fn.line('.'), name)
  end, { buffer = buf, desc = 'kernel.nvim: go to the code of this traceback frame' })
  buffers[name] = buf
  return buf
end

-- The buffer for `name`, and whether it had to be made anew.
local function buffer(name)
  local buf = buffers[name]
  if buf and api.nvim_buf_is_valid(buf) then
    return buf, false
  end
  return create(name), true
end

M.ns = ns

-- Lines come joined by newlines: one string crosses RPC far cheaper than a list.
function M.lines(text)
  return text and vim.split(text, '\n', { plain = true }) or {}
end

local function apply(buf, edit)
  local count = api.nvim_buf_line_count(buf)
  local follow = {}
  for _, win in ipairs(vim.fn.win_findbuf(buf)) do
    follow[win] = api.nvim_win_get_cursor(win)[1] >= count
  end
  vim.bo[buf].modifiable = true
  if edit.trim > 0 then
    api.nvim_buf_clear_namespace(buf, ns, 0, edit.trim)
    api.nvim_buf_set_lines(buf, 0, edit.trim, false, {})
  end
  local start = math.min(edit.start, api.nvim_buf_line_count(buf))
  if edit.replace then
    api.nvim_buf_clear_namespace(buf, ns, start, -1)
    api.nvim_buf_set_lines(buf, start, -1, false, M.lines(edit.text))
  end
  vim.bo[buf].modifiable = false
  for _, h in ipairs(edit.highlights) do
    hl.define(h[4])
    api.nvim_buf_set_extmark(buf, ns, start + h[1], h[2], { end_col = h[3], hl_group = h[4] })
  end
  local last = api.nvim_buf_line_count(buf)
  for win, at_end in pairs(follow) do
    if at_end then
      api.nvim_win_set_cursor(win, { last, 0 })
    end
  end
end

local function open_window(buf)
  local position = positions[vim.g.kernel_output_position or 'right'] or positions.right
  local size = tonumber(vim.g.kernel_output_size) or 0
  vim.cmd(position .. ' ' .. (size > 0 and size or '') .. 'split')
  local win = api.nvim_get_current_win()
  api.nvim_win_set_buf(win, buf)
  local wo = vim.wo[win]
  wo.number, wo.relativenumber, wo.signcolumn = false, false, 'no'
  wo.spell, wo.list, wo.foldcolumn = false, false, '0'
  if vim.bo[buf].filetype == '' then
    -- Set here, in the output window, so that FileType hooks setting window options hit it.
    vim.bo[buf].filetype = 'kernel-output'
  end
  api.nvim_win_set_cursor(win, { api.nvim_buf_line_count(buf), 0 })
  return win
end

-- Show the buffer in a window of the current tab page, opening a split if none shows it.
local function show(buf, focus)
  local win = vim.fn.win_findbuf(buf)
  local here
  for _, w in ipairs(win) do
    if api.nvim_win_get_tabpage(w) == api.nvim_get_current_tabpage() then
      here = w
    end
  end
  local from = api.nvim_get_current_win()
  if not here then
    here = open_window(buf)
  end
  api.nvim_set_current_win(focus and here or from)
end

-- The kernel runs input() or getpass(): ask the user, later, so this call returns at once.
-- Cancelling answers an empty string, so the kernel is never left waiting.
local function ask(request)
  vim.schedule(function()
    local function answer(value)
      vim.fn['kernel#rpc']('input_reply', request.id, value or vim.NIL)
    end
    if request.password then
      local ok, value = pcall(vim.fn.inputsecret, request.prompt)
      answer(ok and value or nil)
    else
      vim.ui.input({ prompt = request.prompt }, answer)
    end
  end)
end

-- u: { name, edit = {trim, start, text, highlights, replace}, show, focus, status, messages, asks,
--      and for kernel.ui: float, complete, history, quickfix, jump }.
function M.update(u)
  local lost = false
  if u.name and (u.edit or u.show) then
    local buf, created = buffer(u.name)
    if u.edit then
      lost = created and (u.edit.start > 0 or u.edit.trim > 0)
      if lost then
        -- The user wiped the buffer: ask the host for all of it again.
        vim.schedule(function()
          vim.fn['kernel#rpc']('resend', u.name)
        end)
      else
        apply(buf, u.edit)
      end
    end
    if u.show and not lost then
      local ok, err = pcall(show, buf, u.focus)
      if not ok then
        vim.notify('[kernel] cannot open the output window: ' .. tostring(err), vim.log.levels.WARN)
      end
    end
  end
  if u.state then
    vim.g.kernel_state = u.state
    vim.g.kernel_status = u.state.text
    vim.cmd('redrawstatus!')
    api.nvim_exec_autocmds('User', { pattern = 'KernelStatusChanged', modeline = false })
  end
  for _, m in ipairs(u.messages or {}) do
    vim.notify(m[1], m[2])
  end
  for _, request in ipairs(u.asks or {}) do
    ask(request)
  end
  if u.float or u.complete or u.history or u.quickfix or u.jump then
    require('kernel.ui').show(u)
  end
end

return M
