-- kernel.nvim: images in the output buffer, and what :KernelOpen opens outside Neovim.
--
-- Every image has a line of its own (`[image/png 640x480]`); the picture goes under the last
-- line of its output, drawn by whichever of these g:kernel_image picks ('auto' takes the first
-- that works):
--   snacks.nvim's image module, or image.nvim: placed from the image's private temp file, in a
--     terminal that shows images (kitty's graphics protocol and the like);
--   'blocks': a preview the host drew with half blocks (▀ in two colours per cell), kept as
--     the virt_lines of an extmark, so the buffer's text (and what a yank takes) is only the
--     line; it needs 'termguicolors';
--   'none': only the line.
-- The host does the slow part in a worker thread (decoding, writing files): what reaches this
-- module is a file name or finished rows. M.host_mode() tells the host which of them to make.
-- The host's temp dir is removed when Neovim exits, here too in case the host is killed.

-- Module definition ==========================================================
local M = {}
local H = {}

local api = vim.api

M.ns = api.nvim_create_namespace('kernel_media')

--- What the host should make of each image (session/options.py IMAGE): 'blocks' (a preview),
--- 'file' (a file for an image plugin), 'both' (not known yet which will draw) or 'none'.
---@return string
function M.host_mode()
  local choice = H.choice()
  if choice == 'none' then
    return 'none'
  end
  local provider, pending = H.provider(choice)
  if provider and not pending then
    return 'file'
  end
  local blocks = vim.o.termguicolors and 'blocks' or nil
  if choice == 'blocks' and not blocks then
    H.say("g:kernel_image is 'blocks', but " .. H.fallback())
  end
  if pending then
    return blocks and 'both' or 'file'
  end
  return blocks or 'none'
end

--- Place the image of an output whose last line is `row` (0-based) of `buf`.
---@param buf integer
---@param row integer
---@param image table {mimetype, width, height, file?, preview?}
function M.place(buf, row, image)
  if image.file then
    H.keep_dir(image.file)
  end
  local choice = H.choice()
  if choice == 'none' then
    return
  end
  local provider, pending = H.provider(choice)
  local ready = provider == 'image.nvim' or not pending -- image.nvim is tried to prove it
  if image.file and provider and ready and H.placers[provider](buf, row, image) then
    return
  end
  if image.preview and vim.o.termguicolors then
    H.draw(buf, row, image.preview)
  end
end

--- Lines from `first` to `last` (0-based, exclusive; nil: to the end) of `buf` are about to be
--- replaced or deleted: the images placed there go with them.
---@param buf integer
---@param first integer
---@param last integer|nil
function M.forget(buf, first, last)
  local kept = {}
  for _, placed in ipairs(H.placed[buf] or {}) do
    local at = api.nvim_buf_get_extmark_by_id(buf, M.ns, placed.anchor, {})
    if at[1] == nil or (at[1] >= first and (last == nil or at[1] < last)) then
      placed.closed = true
      pcall(placed.close)
    else
      kept[#kept + 1] = placed
    end
  end
  H.placed[buf] = kept
  api.nvim_buf_clear_namespace(buf, M.ns, first, last or -1)
end

--- :KernelOpen's answer: a file for the system's viewer or browser, or text for a buffer.
---@param o table {file} or {name, text, filetype}
function M.open(o)
  -- Scheduled: vim.ui.open starts a process and a split changes windows, neither of which
  -- belongs inside the host's call.
  vim.schedule(function()
    if o.file then
      H.keep_dir(o.file)
      H.open_file(o.file)
    else
      H.scratch(o)
    end
  end)
end

--- Whether a terminal shows this Neovim: images need one (not a headless Neovim, nor, for
--- these plugins, a GUI).
---@return boolean
function M.terminal()
  for _, ui in ipairs(api.nvim_list_uis()) do
    if (ui.term_name or '') ~= '' then
      return true
    end
  end
  return false
end

-- Helper data ================================================================
H.choices = { auto = true, snacks = true, ['image.nvim'] = true, blocks = true, none = true }
H.placed = {} -- buffer -> { {anchor = extmark id in M.ns, close = function, closed}, ... }
H.dirs = {} -- the host's temp dirs seen, removed on VimLeavePre
H.said = {} -- messages said once
H.snacks_state = nil -- nil: not asked yet; 'pending'; true: it draws; false: it cannot
H.image_nvim_broken = nil -- why image.nvim cannot place images, once it failed to
H.image_nvim_placed = false -- it placed one: the host need not draw previews too

-- Helper functionality =======================================================
function H.say(text, level)
  if not H.said[text] then
    H.said[text] = true
    require('kernel.message').say('[kernel] ' .. text, level or vim.log.levels.WARN)
  end
end

function H.choice()
  local choice = vim.g.kernel_image or 'auto'
  if H.choices[choice] then
    return choice
  end
  H.say("g:kernel_image must be 'auto', 'snacks', 'image.nvim', 'blocks' or 'none': using 'auto'")
  return 'auto'
end

-- The image plugin that places images for `choice`, and whether that is still being found out.
function H.provider(choice)
  if choice == 'snacks' or choice == 'auto' then
    local snacks = H.snacks(choice == 'snacks')
    if snacks ~= false then
      return 'snacks', snacks == 'pending'
    end
  end
  if choice == 'image.nvim' or (choice == 'auto' and package.loaded['image']) then
    local usable, unproven = H.image_nvim(choice == 'image.nvim')
    if usable then
      return 'image.nvim', unproven
    end
  end
end

-- snacks.nvim: installed, shown in a terminal, and the terminal answers that it shows images.
-- Its own check asks the terminal and waits up to a second for the answer; asked here without
-- a callback, it would block the editor that long. Asked once; a UI may attach later, so "no
-- terminal" is looked at again each time.
function H.snacks(forced)
  if H.snacks_state ~= nil then
    return H.snacks_state
  end
  local installed, snacks = pcall(require, 'snacks')
  local why = not installed and 'snacks.nvim is not installed'
    or not M.terminal() and 'no terminal shows this Neovim'
  if why then
    if not installed then
      H.snacks_state = false -- for good; "no terminal" may change
    end
    if forced then
      H.say(string.format("g:kernel_image is 'snacks', but %s: %s", why, H.fallback()))
    end
    return false
  end
  H.snacks_state = 'pending'
  snacks.image.terminal.detect(function()
    H.snacks_state = snacks.image.supports_terminal() and true or false
    if not H.snacks_state and forced then
      local no = 'the terminal does not show images (kitty graphics protocol)'
      H.say(string.format("g:kernel_image is 'snacks', but %s: %s", no, H.fallback()))
    end
  end)
  return H.snacks_state
end

-- image.nvim has no check of the terminal: its user picked a backend that works there. Until
-- it has placed an image, the host draws a preview too, in case it cannot.
function H.image_nvim(forced)
  if H.image_nvim_broken then
    return false -- and said so when it was found out
  end
  local why = not pcall(require, 'image') and 'image.nvim is not installed'
    or not M.terminal() and 'no terminal shows this Neovim'
  if why then
    if forced then
      H.say(string.format("g:kernel_image is 'image.nvim', but %s: %s", why, H.fallback()))
    end
    return false
  end
  return true, not H.image_nvim_placed
end

function H.fallback()
  return vim.o.termguicolors and 'previews are drawn with half blocks'
    or "only the image's line is shown (half blocks need 'termguicolors')"
end

function H.rows()
  local rows = tonumber(vim.g.kernel_image_rows) or 20
  return math.max(1, math.min(200, math.floor(rows)))
end

-- Each placer returns whether it placed the image.
H.placers = {}

H.placers['snacks'] = function(buf, row, image)
  local ok, placement = pcall(function()
    return require('snacks').image.placement.new(buf, image.file, {
      pos = { row + 1, 0 },
      inline = true,
      max_height = H.rows(),
    })
  end)
  if not ok then
    H.say('snacks.nvim cannot place the image: ' .. tostring(placement))
    return false
  end
  H.keep(buf, row, function()
    placement:close()
  end)
  return true
end

-- image.nvim draws in a window: placed once a window shows the buffer (the output window
-- opens after the edit that brought the image), at the row its anchor has moved to by then.
H.placers['image.nvim'] = function(buf, row, image)
  local entry = H.keep(buf, row, function() end)
  local function place()
    local win = vim.fn.win_findbuf(buf)[1]
    local at = not entry.closed and api.nvim_buf_get_extmark_by_id(buf, M.ns, entry.anchor, {})[1]
    if not at then
      return
    elseif not win then
      return api.nvim_create_autocmd('BufWinEnter', { buffer = buf, once = true, callback = place })
    end
    local ok, placed = pcall(function()
      local img = require('image').from_file(image.file, {
        window = win,
        buffer = buf,
        with_virtual_padding = true,
        namespace = 'kernel.nvim',
      })
      if img then
        img:render({ x = 0, y = at })
      end
      return img
    end)
    if ok and placed then
      H.image_nvim_placed = true
      entry.close = function()
        placed:clear()
      end
      return
    end
    -- Most often: its setup() was never called.
    local why = tostring(placed):gsub('^[^\n]-:%d+: ', '') -- without the error's file:line
    H.image_nvim_broken = 'image.nvim cannot place images (' .. why .. ')'
    H.say(string.format('%s: %s', H.image_nvim_broken, H.fallback()))
    if image.preview and vim.o.termguicolors then
      H.draw(buf, at, image.preview)
    end
  end
  vim.schedule(place)
  return true
end

-- Remember a placement, with an anchor that follows its line as the buffer changes.
function H.keep(buf, row, close)
  local anchor = api.nvim_buf_set_extmark(buf, M.ns, row, 0, { strict = false })
  local entry = { anchor = anchor, close = close }
  H.placed[buf] = H.placed[buf] or {}
  table.insert(H.placed[buf], entry)
  return entry
end

-- The host's rows of {text, groups} chunks, as virt_lines under the line.
function H.draw(buf, row, preview)
  local hl = require('kernel.highlights')
  for _, cells in ipairs(preview) do
    for _, chunk in ipairs(cells) do
      for _, group in ipairs(chunk[2]) do
        hl.define(group)
      end
    end
  end
  api.nvim_buf_set_extmark(buf, M.ns, row, 0, { virt_lines = preview, strict = false })
end

-- Only the host's own dirs (named so by media/store.py) are ever removed.
function H.keep_dir(file)
  local dir = vim.fs.dirname(file)
  if H.dirs[dir] or not vim.fs.basename(dir):match('^kernel%-nvim%-') then
    return
  end
  H.dirs[dir] = true
  api.nvim_create_autocmd('VimLeavePre', {
    group = api.nvim_create_augroup('kernel_media', { clear = false }),
    once = true,
    callback = function()
      vim.fn.delete(dir, 'rf')
    end,
  })
end

function H.open_file(file)
  if not vim.ui.open then
    return H.say('opening an output needs Neovim 0.10 (vim.ui.open); it is in ' .. file)
  end
  local ok, opened, err = pcall(vim.ui.open, file)
  if not ok or (opened == nil and err) then
    local why = tostring(ok and err or opened)
    require('kernel.message').say('[kernel] cannot open the output: ' .. why, vim.log.levels.ERROR)
  end
end

-- JSON, markdown, LaTeX: a scratch buffer of that filetype, in a split.
function H.scratch(o)
  local buf = api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = 'wipe'
  pcall(api.nvim_buf_set_name, buf, o.name)
  api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(o.text, '\n', { plain = true }))
  vim.cmd('aboveleft split')
  api.nvim_win_set_buf(0, buf)
  vim.bo[buf].filetype = o.filetype
end

return M
