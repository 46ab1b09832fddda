-- kernel.nvim: the output window, at most one per tab page.
--
-- An output window is any window showing a `kernel://` buffer. A send shows the kernel's buffer
-- in the tab's output window, switching what that window shows rather than opening another;
-- when the linked kernel changes, every tab's output window switches to its buffer. Commands the
-- user acts on at once (:KernelOutput, `q`) are done here, before they return, so that the next
-- key typed finds the windows already as they will be.

-- Module definition ==========================================================
local M = {}
local H = {}

local api = vim.api

--- The output window of tab page `tab` (default: the current one), or nil.
---@param tab integer|nil
---@return integer|nil
function M.find(tab)
  for _, win in ipairs(api.nvim_tabpage_list_wins(tab or 0)) do
    if H.is_output(api.nvim_win_get_buf(win)) then
      return win
    end
  end
end

--- Show `buf` in this tab's output window, opening one if there is none; go to it if `focus`.
---@param buf integer
---@param focus boolean|nil
---@return integer the window
function M.show(buf, focus)
  local from = api.nvim_get_current_win()
  local win = M.find()
  if win then
    H.set_buf(win, buf)
  else
    win = H.open(buf)
  end
  api.nvim_set_current_win(focus and win or from)
  return win
end

--- The linked kernel is now the one of `buf`: in every tab, the output window shows it instead
--- of another kernel's buffer; an output window left over beside it closes.
---@param buf integer
function M.relink(buf)
  for _, tab in ipairs(api.nvim_list_tabpages()) do
    local keep = nil
    for _, win in ipairs(api.nvim_tabpage_list_wins(tab)) do
      if api.nvim_win_get_buf(win) == buf then
        keep = keep or win
      end
    end
    for _, win in ipairs(api.nvim_tabpage_list_wins(tab)) do
      local shown = api.nvim_win_get_buf(win)
      if H.is_output(shown) and shown ~= buf then
        if keep then
          pcall(api.nvim_win_close, win, false)
        else
          H.set_buf(win, buf)
          keep = win
        end
      end
    end
  end
end

--- Close output window `win` (`q`). The last window of the editor cannot close: it shows the
--- alternate buffer instead, or an empty one.
---@param win integer
function M.close(win)
  if #api.nvim_list_wins() > 1 then
    api.nvim_win_close(win, false)
    return
  end
  local alternate = vim.fn.bufnr('#')
  if alternate > 0 and not H.is_output(alternate) and api.nvim_buf_is_valid(alternate) then
    api.nvim_win_set_buf(win, alternate)
  else
    api.nvim_win_set_buf(win, api.nvim_create_buf(true, false))
  end
end

--- :KernelOutput! shows `buf` (the cursor stays) when the tab has no output window, else
--- closes it.
---@param buf integer
function M.toggle(buf)
  local win = M.find()
  if win then
    M.close(win)
  else
    M.show(buf, false)
  end
end

-- Helper data ================================================================
H.positions = {
  right = 'botright vertical',
  left = 'topleft vertical',
  below = 'botright',
  above = 'topleft',
}

-- Helper functionality =======================================================
function H.is_output(buf)
  return api.nvim_buf_get_name(buf):find('^kernel://') ~= nil
end

function H.open(buf)
  local position = H.positions[vim.g.kernel_output_position or 'right'] or H.positions.right
  local size = tonumber(vim.g.kernel_output_size) or 0
  vim.cmd(position .. ' ' .. (size > 0 and size or '') .. 'split')
  local win = api.nvim_get_current_win()
  H.set_buf(win, buf)
  local wo = vim.wo[win]
  wo.number, wo.relativenumber, wo.signcolumn = false, false, 'no'
  wo.spell, wo.list, wo.foldcolumn = false, false, '0'
  return win
end

function H.set_buf(win, buf)
  if api.nvim_win_get_buf(win) ~= buf then
    -- Its fold options and folds come with it: kernel/blocks.lua, on BufWinEnter.
    api.nvim_win_set_buf(win, buf)
    api.nvim_win_set_cursor(win, { api.nvim_buf_line_count(buf), 0 })
  end
  if vim.bo[buf].filetype == '' then
    -- Set in the output window, so that FileType hooks setting window options hit it.
    api.nvim_win_call(win, function()
      vim.bo[buf].filetype = 'kernel-output'
    end)
  end
end

return M
