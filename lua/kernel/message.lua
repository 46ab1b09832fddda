-- kernel.nvim: every `[kernel] ...` message, host's and editor's, is shown here.
--
-- A message wider than the command line opens the hit-enter prompt, which stops the editor
-- until a key is pressed (and stalled it ~1 s when a message came in a host's request). So a
-- message is shown on one screen line, cut in the middle to fit `v:echospace`, while its full
-- text goes to `:messages`. Neovim does exactly that for an `:echomsg` given with 'T' in
-- 'shortmess' outside a typed command, and nothing else does: `:silent echomsg` keeps no history
-- and `nvim_echo()` never cuts. Hence the `:echomsg`, scheduled out of any typed command, and
-- the 'T' for just that moment.
--
-- A notification plugin (one that replaces vim.notify) gets the full text through vim.notify.

-- Module definition ==========================================================
local M = {}
local H = {}

--- Show `text` (one line, starting with `[kernel]`) at `level` (a vim.log.levels value).
---@param text string
---@param level integer|nil
function M.say(text, level)
  level = level or vim.log.levels.INFO
  if H.notify_replaced() then
    vim.notify(text, level)
    return
  end
  table.insert(H.queue, { text, level })
  if #H.queue == 1 then
    vim.schedule(H.flush)
  end
end

-- Helper data ================================================================
H.queue = {} -- messages waiting for the scheduled flush, in order
H.groups = { [vim.log.levels.WARN] = 'WarningMsg', [vim.log.levels.ERROR] = 'ErrorMsg' }

-- Helper functionality =======================================================
function H.notify_replaced()
  local info = debug.getinfo(vim.notify, 'S')
  return not (info and info.source:find('vim/_editor.lua', 1, true))
end

-- Several messages in one go overwrite each other on the screen (no prompt); :messages has all.
function H.flush()
  local queue = H.queue
  H.queue = {}
  local shortmess = vim.o.shortmess
  vim.opt.shortmess:append('T')
  local ok, err = pcall(function()
    for _, m in ipairs(queue) do
      H.echomsg(m[1], H.groups[m[2]] or 'None')
    end
  end)
  vim.o.shortmess = shortmess
  if not ok then
    error(err)
  end
end

function H.echomsg(text, group)
  -- string() makes the literal: the text is never pasted into a command as it is.
  local literal = vim.fn.string((text:gsub('\n', ' ')))
  vim.api.nvim_cmd({ cmd = 'echohl', args = { group } }, {})
  vim.api.nvim_cmd({ cmd = 'echomsg', args = { literal } }, {})
  vim.api.nvim_cmd({ cmd = 'echohl', args = { 'None' } }, {})
end

return M
