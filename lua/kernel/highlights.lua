-- kernel.nvim: every highlight group of the plugin, and the xterm palette behind them.
--
-- The host names groups (`KernelStderr`, `KernelAnsiRed`, `KernelAnsi256_208`) and never a
-- colour, so this file is the only place that knows one. Every group is a default: a colour
-- scheme or the user's own `:highlight` wins. `:colorscheme` clears them all; plugin/kernel.vim
-- calls apply() again after it.

-- Module definition ==========================================================
local M = {}
local H = {}

-- Define every fixed group, and again each 256-colour and RGB group output used so far.
function M.apply()
  vim.api.nvim_set_hl(0, 'KernelIn', { link = 'Title', default = true })
  vim.api.nvim_set_hl(0, 'KernelOut', { link = 'Identifier', default = true })
  vim.api.nvim_set_hl(0, 'KernelStderr', { link = 'WarningMsg', default = true })
  vim.api.nvim_set_hl(0, 'KernelError', { link = 'ErrorMsg', default = true })
  vim.api.nvim_set_hl(0, 'KernelInfo', { link = 'Comment', default = true })
  vim.api.nvim_set_hl(0, 'KernelRich', { link = 'NonText', default = true })
  vim.api.nvim_set_hl(0, 'KernelInlineResult', { link = 'Comment', default = true })
  local inline_error = { link = 'DiagnosticVirtualTextError', default = true }
  vim.api.nvim_set_hl(0, 'KernelInlineError', inline_error)
  vim.api.nvim_set_hl(0, 'KernelAnsiBold', { bold = true, default = true })
  vim.api.nvim_set_hl(0, 'KernelAnsiItalic', { italic = true, default = true })
  vim.api.nvim_set_hl(0, 'KernelAnsiUnderline', { underline = true, default = true })
  for n = 0, 15 do
    H.define_system(n)
  end
  for group, spec in pairs(H.made) do
    if spec then
      vim.api.nvim_set_hl(0, group, spec)
    end
  end
end

-- Make `group` if it is one of those made on first use: KernelAnsi[Bg]256_<n> and
-- KernelAnsi[Bg]RGB_<rrggbb>. Cheap when called again: it runs for every highlight written.
function M.define(group)
  if H.made[group] ~= nil then
    return
  end
  local spec = H.spec(group)
  H.made[group] = spec or false
  if spec then
    vim.api.nvim_set_hl(0, group, spec)
  end
end

-- The '#rrggbb' colour of entry `n` (0 to 255) of xterm's 256-colour palette.
function M.xterm(n)
  return H.palette[n + 1]
end

-- Helper data ================================================================
H.names = { 'Black', 'Red', 'Green', 'Yellow', 'Blue', 'Magenta', 'Cyan', 'White' }

-- xterm's own defaults for the 16 system colours.
H.system = {
  '#000000', '#cd0000', '#00cd00', '#cdcd00', '#0000ee', '#cd00cd', '#00cdcd', '#e5e5e5',
  '#7f7f7f', '#ff0000', '#00ff00', '#ffff00', '#5c5cff', '#ff00ff', '#00ffff', '#ffffff',
}

-- Group name -> its spec, or false for a name that is not made on first use.
H.made = {}

-- Helper functionality =======================================================
H.palette = (function()
  local t = vim.deepcopy(H.system)
  local levels = { 0, 95, 135, 175, 215, 255 }
  for i = 0, 215 do
    local r, g, b = math.floor(i / 36), math.floor(i / 6) % 6, i % 6
    t[#t + 1] = string.format('#%02x%02x%02x', levels[r + 1], levels[g + 1], levels[b + 1])
  end
  for i = 0, 23 do
    local v = 8 + 10 * i
    t[#t + 1] = string.format('#%02x%02x%02x', v, v, v)
  end
  return t
end)()

function H.define_system(n)
  local name = (n < 8 and '' or 'Bright') .. H.names[n % 8 + 1]
  -- A colour scheme's terminal palette, where it sets one, fits its background best.
  local gui = vim.g['terminal_color_' .. n]
  if type(gui) ~= 'string' or vim.api.nvim_get_color_by_name(gui) == -1 then
    gui = M.xterm(n)
  end
  vim.api.nvim_set_hl(0, 'KernelAnsi' .. name, { fg = gui, ctermfg = n, default = true })
  vim.api.nvim_set_hl(0, 'KernelAnsiBg' .. name, { bg = gui, ctermbg = n, default = true })
end

function H.spec(group)
  local key, kind, value = 'bg', group:match('^KernelAnsiBg(%w+)_(%x+)$')
  if not kind then
    key, kind, value = 'fg', group:match('^KernelAnsi(%w+)_(%x+)$')
  end
  if kind == '256' then
    local n = tonumber(value)
    if n and n <= 255 then
      return { [key] = M.xterm(n), ['cterm' .. key] = n, default = true }
    end
  elseif kind == 'RGB' and #value == 6 then
    return { [key] = '#' .. value, default = true }
  end
  return nil
end

return M
