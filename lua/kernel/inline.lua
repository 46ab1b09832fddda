-- kernel.nvim: a result or an error shown at the end of the code that made it (g:kernel_inline).
--
-- At send time, kernel#send() calls sent(): what an earlier run of those lines showed goes, and
-- with g:kernel_inline an extmark without text (an anchor) marks the last line of code sent.
-- Its id travels with the execution's source; the host sends it back with the text (update key
-- `inline`), and show() puts the text on the anchor, wherever edits have moved it since.

-- Module definition ==========================================================
local M = {}
local H = {}

local api = vim.api

M.ns = api.nvim_create_namespace('kernel_inline')

--- Lines `first` to `last` (1-based) of `buf` are being sent: clear what they show; with
--- g:kernel_inline, return the id of an anchor on the last of them that holds code.
---@param buf integer
---@param first integer
---@param last integer
---@return integer|nil
function M.sent(buf, first, last)
  if first < 1 or last < first or not api.nvim_buf_is_valid(buf) then
    return nil
  end
  last = math.min(last, api.nvim_buf_line_count(buf))
  api.nvim_buf_clear_namespace(buf, M.ns, first - 1, last)
  local on = vim.g.kernel_inline
  if on ~= 1 and on ~= true then
    return nil
  end
  -- A cell or paragraph often ends in blank lines: the answer goes after the code.
  local row = api.nvim_buf_call(buf, function()
    return math.max(first, vim.fn.prevnonblank(last))
  end)
  return api.nvim_buf_set_extmark(buf, M.ns, row - 1, 0, {})
end

--- Answers from the host: {buffer, anchor, text, error}. One whose anchor is gone (its lines
--- were sent again, or the buffer wiped) is dropped.
---@param items table[]
function M.show(items)
  for _, item in ipairs(items) do
    H.show(item)
  end
end

-- Helper data ================================================================
H.prefix = { [false] = '⇒ ', [true] = '✗ ' }
H.group = { [false] = 'KernelInlineResult', [true] = 'KernelInlineError' }

-- Helper functionality =======================================================
function H.show(item)
  local buf, id, error = item.buffer, item.anchor, item.error == true
  if type(buf) ~= 'number' or type(id) ~= 'number' or type(item.text) ~= 'string' then
    return
  end
  if not api.nvim_buf_is_valid(buf) then
    return
  end
  local at = api.nvim_buf_get_extmark_by_id(buf, M.ns, id, {})
  if not at[1] then
    return
  end
  api.nvim_buf_set_extmark(buf, M.ns, at[1], 0, {
    id = id,
    virt_text = { { H.prefix[error] .. item.text, H.group[error] } },
    virt_text_pos = 'eol',
    hl_mode = 'combine',
  })
end

return M
