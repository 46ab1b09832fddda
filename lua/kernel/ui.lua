-- kernel.nvim: answers the user asked for, shown where they asked: the K float, completion,
-- the history buffer, the traceback's quickfix list and jumps from the output to the source.
-- Each arrives some time after the key press, so each first checks the user is still there.

local M = {}

local api = vim.api
local output = require('kernel.output')

local function split(text)
  return text and vim.split(text, '\n', { plain = true }) or {}
end

local function highlight(buf, highlights)
  for _, h in ipairs(highlights or {}) do
    output.define(h[4])
    api.nvim_buf_set_extmark(buf, output.ns, h[1], h[2], { end_col = h[3], hl_group = h[4] })
  end
end

-- The cursor is where it was when the user asked.
local function still_at(where)
  if not where or api.nvim_get_current_win() ~= where.win then
    return false
  end
  local cursor = api.nvim_win_get_cursor(0)
  return cursor[1] == where.line and cursor[2] + 1 == where.col
end

-- What the kernel knows about the name under the cursor, in a float that closes when the
-- cursor moves.
local function float(f)
  if not still_at(f.where) then
    return
  end
  local buf = vim.lsp.util.open_floating_preview(split(f.text), '', {
    focus_id = 'kernel_inspect',
    close_events = { 'CursorMoved', 'CursorMovedI', 'InsertEnter', 'BufLeave', 'WinLeave' },
    max_width = math.max(40, math.floor(vim.o.columns * 0.8)),
    max_height = math.max(10, math.floor(vim.o.lines * 0.6)),
  })
  highlight(buf, f.highlights)
end

-- Completion answered: show the matches if the cursor stayed in Insert mode where it was.
local function complete(c)
  if api.nvim_get_mode().mode:sub(1, 1) == 'i' and still_at(c.where) then
    vim.fn.complete(c.start + 1, c.items)
  end
end

function M.show(u)
  -- Scheduled: complete() and windows need the editor outside this RPC call.
  vim.schedule(function()
    if u.float then
      float(u.float)
    end
    if u.complete then
      complete(u.complete)
    end
  end)
end

return M
