-- kernel.nvim: the output buffer as a place to work: jump between executions, fold, yank.
--
-- Every execution starts at an extmark of output.lua's `blocks` namespace, on its `In [n]:`
-- line. `]]` and `[[` jump between them, `yo` yanks an execution's output, and each execution is
-- a fold: from its start to the line before the next start (the blank line between them is the
-- earlier one's), lines above the first start (an execution whose header was trimmed away) one
-- more.
--
-- The folds are manual ones that refold() keeps in step after each write, not a 'foldexpr':
-- Neovim evaluates a 'foldexpr' for every line written, before output.lua has placed the marks
-- of those lines, and at some microseconds a line: in bench/folds.py, a 100,000-line flood
-- costs the editor 116 ms of updates without folds, 120 ms with these, 1,160 ms with a
-- 'foldexpr' reading the marks. refold() touches only the executions an edit reached: one per
-- write in a flood.

-- Module definition ==========================================================
local M = {}
local H = {}

local api = vim.api

--- Give output buffer `buf` its maps, and its folds in every window it enters.
---@param buf integer
function M.attach(buf)
  local function map(modes, lhs, rhs, desc)
    vim.keymap.set(modes, lhs, rhs, { buffer = buf, desc = 'kernel.nvim: ' .. desc })
  end
  map({ 'n', 'x', 'o' }, ']]', function()
    M.jump(vim.v.count1)
  end, 'go to the next execution')
  map({ 'n', 'x', 'o' }, '[[', function()
    M.jump(-vim.v.count1)
  end, 'go to the previous execution')
  map('n', 'yo', function()
    M.yank(vim.v.register)
  end, "yank the output of the execution under the cursor")
  -- Fires for the windows window.lua makes or relinks (nvim_win_set_buf), and for any other
  -- way the buffer comes into a window (:buffer, :sbuffer): each needs its folds made anew, as
  -- a window keeps only a stale copy of the folds of a buffer it showed before.
  api.nvim_create_autocmd('BufWinEnter', {
    buffer = buf,
    group = api.nvim_create_augroup('kernel_blocks_' .. buf, { clear = true }),
    callback = function()
      M.window(api.nvim_get_current_win(), buf)
    end,
  })
end

--- Window `win` shows output buffer `buf`: fold each execution there, all open.
---@param win integer
---@param buf integer
function M.window(win, buf)
  -- The first time only, so that a 'foldmethod' the user sets after (a FileType autocommand)
  -- stays; :setlocal, so that it stays with this buffer, never reaching one shown later here.
  local configured = vim.w[win].kernel_folded or {}
  if not configured[tostring(buf)] then
    configured[tostring(buf)] = true
    vim.w[win].kernel_folded = configured
    api.nvim_win_call(win, function()
      vim.opt_local.foldmethod = 'manual'
    end)
  end
  if vim.wo[win].foldmethod == 'manual' then
    pcall(api.nvim_win_call, win, function()
      vim.cmd('normal! zE')
      H.fold(H.ranges(buf, 0), true)
    end)
  end
end

--- Lines from row `from` (0-based) of `buf` were written: fold again the executions they
--- reached, in every window showing it, keeping closed what was closed.
---@param buf integer
---@param from integer
function M.refold(buf, from)
  local wins = vim.fn.win_findbuf(buf)
  if #wins == 0 then
    return
  end
  local ranges = H.ranges(buf, from)
  for _, win in ipairs(wins) do
    if H.selecting(win) then
      H.refold_later(buf)
    -- A window where the user chose another 'foldmethod' keeps it, and its folds.
    elseif vim.wo[win].foldmethod == 'manual' then
      -- Folds are a help: should one fail, the output must still be written.
      pcall(api.nvim_win_call, win, function()
        H.fold(ranges, false)
      end)
    end
  end
end

--- `]]` (count > 0) and `[[` (count < 0): to the start of the count-th execution after (or
--- before) the cursor line, or the farthest there is.
---@param count integer
function M.jump(count)
  local row = api.nvim_win_get_cursor(0)[1] - 1
  local found
  if count > 0 then
    found = api.nvim_buf_get_extmarks(0, H.ns(), { row + 1, 0 }, -1, { limit = count })
  else
    -- Marks are at column 0: the one at the cursor row, if any, is not before it.
    found = api.nvim_buf_get_extmarks(0, H.ns(), { row, 0 }, 0, { limit = 1 - count })
    if found[1] and found[1][2] == row then
      table.remove(found, 1)
    end
  end
  local target = found[math.min(math.abs(count), #found)]
  if not target then
    return
  end
  if api.nvim_get_mode().mode == 'n' then
    vim.cmd("normal! m'") -- a jump, as Vim's own ]] is: <C-o> comes back
  end
  api.nvim_win_set_cursor(0, { target[2] + 1, 0 })
end

--- `yo`: yank the output of the execution under the cursor, linewise, into `register`: the
--- lines after its header, up to the blank line before the next execution.
---@param register string
function M.yank(register)
  local first, last = H.output_rows(0, api.nvim_win_get_cursor(0)[1] - 1)
  if first > last then
    return H.say('no output to yank here')
  end
  if not register:match('^[%w"*+_-]$') then
    return H.say('cannot yank into register ' .. register)
  end
  -- :yank, like y: it fills "0 too, honours 'clipboard' and fires TextYankPost.
  local into = register == '"' and '' or ' ' .. register
  vim.cmd(('%d,%dyank%s'):format(first + 1, last + 1, into))
end

-- Helper data ================================================================
H.later = {} -- buffer -> true: to fold again once Visual or Operator-pending mode ends

-- Helper functionality =======================================================
function H.ns()
  return require('kernel.output').blocks
end

function H.say(text)
  require('kernel.message').say('[kernel] ' .. text, vim.log.levels.WARN)
end

-- The folds from the execution holding row `from` to the last: 1-based {top, bottom} lines.
function H.ranges(buf, from)
  local ns = H.ns()
  local count = api.nvim_buf_line_count(buf)
  from = math.max(0, math.min(from, count - 1)) -- an edit that removed lines may start past them
  local before = api.nvim_buf_get_extmarks(buf, ns, { from, 0 }, 0, { limit = 1 })
  local tops = { before[1] and before[1][2] or 0 }
  for _, mark in ipairs(api.nvim_buf_get_extmarks(buf, ns, { from, 0 }, -1, {})) do
    if mark[2] > tops[#tops] then
      tops[#tops + 1] = mark[2]
    end
  end
  local ranges = {}
  for i, top in ipairs(tops) do
    local bottom = (tops[i + 1] or count) - 1
    if top < count then
      ranges[#ranges + 1] = { top + 1, bottom + 1 }
    end
  end
  return ranges
end

-- Visual or Operator-pending mode in window `win`: :normal there would end it.
function H.selecting(win)
  if win ~= api.nvim_get_current_win() then
    return false
  end
  local mode = api.nvim_get_mode().mode
  return mode:find('^[vVsS\22\19]') ~= nil or mode:find('^no') ~= nil
end

-- All of it, then: lines may have been trimmed from the top meanwhile.
function H.refold_later(buf)
  if H.later[buf] then
    return
  end
  H.later[buf] = true
  api.nvim_create_autocmd('ModeChanged', {
    pattern = '*:n*',
    once = true,
    callback = function()
      H.later[buf] = nil
      if api.nvim_buf_is_valid(buf) then
        M.refold(buf, 0)
      end
    end,
  })
end

-- In the current window: fold each range, open unless it was closed. A write moves, shrinks or
-- deletes the folds of the lines it replaced, and never makes one grow (lines added after a
-- fold's end are not in it): those from the first range on are deleted and made again.
function H.fold(ranges, fresh)
  if not ranges[1] then
    return
  end
  local view = vim.fn.winsaveview()
  local closed = {}
  if not fresh then
    for i, range in ipairs(ranges) do
      closed[i] = vim.fn.foldclosed(range[1]) == range[1]
    end
    H.unfold(ranges[1][1], 2 * #ranges + 8)
  end
  for i, range in ipairs(ranges) do
    vim.cmd(range[1] .. ',' .. range[2] .. 'fold')
    if not closed[i] then
      vim.cmd(range[1] .. 'foldopen') -- a new fold is closed
    end
  end
  vim.fn.winrestview(view)
end

-- Delete the folds from line `top` down, going from fold to fold with zj: there is no Ex
-- command that deletes a fold, and zD deletes only the one at the cursor. At most `limit`
-- steps, should a fold refuse to go.
function H.unfold(top, limit)
  api.nvim_win_set_cursor(0, { top, 0 })
  for _ = 1, limit do
    local at = api.nvim_win_get_cursor(0)[1]
    if vim.fn.foldlevel(at) > 0 then
      vim.cmd('normal! zD')
    else
      vim.cmd('normal! zj')
      if api.nvim_win_get_cursor(0)[1] == at then
        return
      end
    end
  end
end

-- Rows (0-based) of the output of the execution holding `row`: first > last when it has none.
function H.output_rows(buf, row)
  local ns = H.ns()
  local header = api.nvim_buf_get_extmarks(buf, ns, { row, 0 }, 0, { limit = 1, details = true })
  local first = header[1] and (header[1][4].end_row or header[1][2]) + 1 or 0
  local next = api.nvim_buf_get_extmarks(buf, ns, { row + 1, 0 }, -1, { limit = 1 })
  local last = api.nvim_buf_line_count(buf) - 1
  if next[1] then
    last = next[1][2] - 1
    if api.nvim_buf_get_lines(buf, last, last + 1, false)[1] == '' then
      last = last - 1 -- the blank line that separates it from the next
    end
  end
  return first, last
end

return M
