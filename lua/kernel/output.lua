-- kernel.nvim: the output buffers' editor side, and where every host update lands.
--
-- The Python host calls update() once per batch of kernel output, with everything that changed,
-- so a flood of output costs few round trips, and the windows that were at the bottom stay
-- there. The keys of an update (rplugin/python3/kernel_nvim/editor/protocol.py's Update; a key
-- added there is added here), every one optional, meaning "this changed":
--   name      the output buffer (kernel://...) that edit, show and focus are about
--   edit      {trim, start, replace, highlights, text, marks}: delete `trim` lines at the top,
--             then replace every line from `start` (0-based) with `text`'s lines (joined by
--             "\n"; absent: none), unless `replace` is false; highlights are {row from start,
--             start byte, end byte, group}; marks (absent: none) are {row from start, rows, and
--             block = true (an execution's In [n]: line) or richer = {mimetype, ...} (forms not
--             shown), syntax = filetype (highlight the rows so: kernel/syntax.lua), lead = rows
--             at the top that are not the form's text (an Out[n]: line; absent: 0), image =
--             {mimetype, width, height, file (its private temp file, once written), preview
--             (once drawn: rows of {text, {group, ...}} chunks, virt_lines)}: placed under the
--             mark's last row by kernel/media.lua}
--   show      show `name` in this tab's output window, opening one if there is none
--   focus     and go to it
--   linked    the output buffer of the kernel linked now: output windows switch to it
--   state     {state, name, buffer, busy, text}: g:kernel_state (see kernel/state.lua)
--   messages  {{'[kernel] ...', vim.log.levels value}, ...}
--   asks      {{id, prompt, password}, ...}: the kernel waits in input() or getpass()
--   float, complete, history, quickfix, jump: answers shown by kernel/ui.lua
--   pick      {prompt, items = {{target, label}, ...}}: the kernels to choose from, shown by
--             kernel/ui.lua with vim.ui.select; the choice runs kernel#connect(target)
--   open      :KernelOpen's answer, {file} for vim.ui.open or {name, text, filetype} for a
--             scratch buffer: done by kernel/media.lua
--   inline    {{buffer, anchor, text, error}, ...}: a result (error = false) or an error, one
--             line, for the extmark `anchor` that kernel#send() placed at the end of the code
--             sent in `buffer` (g:kernel_inline; shown by kernel/inline.lua)

-- Module definition ==========================================================
local M = {}
local H = {}

local api = vim.api

M.ns = api.nvim_create_namespace('kernel_output')
-- Where executions start (their In [n]: lines: ]], [[ and folds read them), and the outputs
-- whose bundle holds more than their text.
M.blocks = api.nvim_create_namespace('kernel_blocks')
M.marks = api.nvim_create_namespace('kernel_marks')

--- Apply one update from the host.
---@param u table
function M.update(u)
  local buf, lost = nil, false
  if u.name and (u.edit or u.show) then
    local created
    buf, created = M.buffer(u.name)
    if u.edit then
      lost = H.write(buf, created, u.name, u.edit)
    end
  end
  if u.linked then
    local linked, made = M.buffer(u.linked)
    if made then -- wiped, and no edit for it came along: the host writes it all again
      H.resend(u.linked)
    end
    require('kernel.window').relink(linked)
  end
  if buf and u.show and not lost then
    local ok, err = pcall(require('kernel.window').show, buf, u.focus)
    if not ok then
      H.say('cannot open the output window: ' .. tostring(err), vim.log.levels.WARN)
    end
  end
  if u.state then
    require('kernel.state').set(u.state)
  end
  for _, m in ipairs(u.messages or {}) do
    require('kernel.message').say(m[1], m[2])
  end
  for _, request in ipairs(u.asks or {}) do
    H.ask(request)
  end
  if u.float or u.complete or u.history or u.quickfix or u.jump or u.pick then
    require('kernel.ui').show(u)
  end
  if u.open then
    require('kernel.media').open(u.open)
  end
  if u.inline then
    require('kernel.inline').show(u.inline)
  end
end

--- The buffer named `name` (kernel://...), and whether it had to be made anew.
---@param name string
---@return integer, boolean
function M.buffer(name)
  local buf = H.buffers[name]
  if buf and api.nvim_buf_is_valid(buf) then
    return buf, false
  end
  return H.create(name), true
end

--- :KernelOutput: go to the output window, at once; with `toggle` (the !), show it without
--- going there, or close it when the tab has one.
---@param toggle boolean
function M.open(toggle)
  local state = require('kernel.state')
  local name = state.output_buffer()
  if name == '' then
    local why = state.get().state == 'connecting' and 'the kernel is not found yet'
      or 'use :KernelConnect first'
    return H.say('no output yet: ' .. why, vim.log.levels.ERROR)
  end
  local buf, created = M.buffer(name)
  if created then
    -- Made anew (wiped, or never shown): the host writes it all again.
    require('kernel.rpc').notify('resend', name)
  end
  local window = require('kernel.window')
  if toggle then
    window.toggle(buf)
  else
    window.show(buf, true)
  end
end

--- :KernelClear: empty the output buffer at once, then let the host forget its lines.
function M.clear()
  local name = require('kernel.state').output_buffer()
  local buf = name ~= '' and H.buffers[name]
  if buf and api.nvim_buf_is_valid(buf) then
    H.set_lines(buf, 0, -1, {})
  end
  require('kernel.rpc').notify('clear')
end

--- Lines come joined by newlines: one string crosses RPC far cheaper than a list.
---@param text string|nil
---@return string[]
function M.lines(text)
  return text and vim.split(text, '\n', { plain = true }) or {}
end

-- Helper data ================================================================
H.buffers = {} -- buffer name -> bufnr

-- Helper functionality =======================================================
function H.say(text, level)
  require('kernel.message').say('[kernel] ' .. text, level)
end

function H.create(name)
  local existing = vim.fn.bufnr('^' .. name .. '$')
  local buf = existing > 0 and existing or api.nvim_create_buf(false, true)
  if existing <= 0 then
    api.nvim_buf_set_name(buf, name)
  end
  local bo = vim.bo[buf]
  bo.buftype, bo.bufhidden, bo.swapfile, bo.buflisted = 'nofile', 'hide', false, false
  bo.undolevels = -1 -- a million lines of output must not be kept twice
  bo.modifiable = false
  -- On a traceback's line: open the code it names (the host knows which cell came from where);
  -- on an image or other rich output: open it, as gx does.
  vim.keymap.set('n', '<CR>', function()
    require('kernel.rpc').notify('jump', vim.fn.line('.'), name)
  end, { buffer = buf, desc = 'kernel.nvim: open this output, or go to the code of this frame' })
  -- gx opens the output outside Neovim (an image in the viewer, HTML in the browser), as <CR>
  -- does where there is no traceback frame to go to.
  vim.keymap.set('n', 'gx', function()
    require('kernel.rpc').notify('open', vim.fn.line('.'), name)
  end, { buffer = buf, desc = 'kernel.nvim: open this output outside Neovim' })
  vim.keymap.set('n', 'q', function()
    require('kernel.window').close(api.nvim_get_current_win())
  end, { buffer = buf, nowait = true, desc = 'kernel.nvim: close the output window' })
  require('kernel.blocks').attach(buf) -- ]], [[, yo, a fold per execution
  H.buffers[name] = buf
  return buf
end

-- Write an edit; true when the buffer was lost (wiped by the user), and the host asked for all.
function H.write(buf, created, name, edit)
  if created and (edit.start > 0 or edit.trim > 0) then
    H.resend(name)
    return true
  end
  H.apply(buf, edit)
  return false
end

-- Scheduled: this runs inside the host's call, which may be waiting for the editor.
function H.resend(name)
  vim.schedule(function()
    require('kernel.rpc').notify('resend', name)
  end)
end

function H.apply(buf, edit)
  local count = api.nvim_buf_line_count(buf)
  local follow = {}
  for _, win in ipairs(vim.fn.win_findbuf(buf)) do
    follow[win] = api.nvim_win_get_cursor(win)[1] >= count
  end
  if edit.trim > 0 then
    H.forget_images(buf, 0, edit.trim)
    api.nvim_buf_clear_namespace(buf, M.ns, 0, edit.trim)
    api.nvim_buf_clear_namespace(buf, M.marks, 0, edit.trim)
    api.nvim_buf_clear_namespace(buf, M.blocks, 0, edit.trim)
    api.nvim_buf_clear_namespace(buf, require('kernel.syntax').ns, 0, edit.trim)
    H.set_lines(buf, 0, edit.trim, {})
  end
  local start = math.min(edit.start, api.nvim_buf_line_count(buf))
  if edit.replace then
    H.forget_images(buf, start)
    api.nvim_buf_clear_namespace(buf, M.ns, start, -1)
    api.nvim_buf_clear_namespace(buf, M.marks, start, -1)
    api.nvim_buf_clear_namespace(buf, M.blocks, start, -1)
    api.nvim_buf_clear_namespace(buf, require('kernel.syntax').ns, start, -1)
    H.set_lines(buf, start, -1, M.lines(edit.text))
  end
  for _, h in ipairs(edit.highlights) do
    require('kernel.highlights').define(h[4])
    api.nvim_buf_set_extmark(buf, M.ns, start + h[1], h[2], { end_col = h[3], hl_group = h[4] })
  end
  for _, mark in ipairs(edit.marks or {}) do
    H.mark(buf, start + mark.row, mark)
  end
  if edit.replace then
    require('kernel.blocks').refold(buf, start) -- once the marks of the new lines are there
  end
  local last = api.nvim_buf_line_count(buf)
  for win, at_end in pairs(follow) do
    if at_end then
      api.nvim_win_set_cursor(win, { last, 0 })
    end
  end
end

-- An execution's start, or an output with forms that are not shown: a quiet note at its end.
function H.mark(buf, row, mark)
  local opts = { end_row = row + mark.rows - 1, strict = false }
  if mark.richer then
    local forms = table.concat(mark.richer, ' ')
    opts.virt_text = { { '  ' .. forms, 'KernelRich' } }
  end
  api.nvim_buf_set_extmark(buf, mark.block and M.blocks or M.marks, row, 0, opts)
  if mark.syntax then
    local lead = mark.lead or 0
    require('kernel.syntax').highlight(buf, row + lead, row + mark.rows, mark.syntax)
  end
  if mark.image then
    require('kernel.media').place(buf, row + mark.rows - 1, mark.image)
  end
end

-- Images go with their lines (none were placed while kernel/media.lua was not loaded).
function H.forget_images(buf, first, last)
  if package.loaded['kernel.media'] then
    require('kernel.media').forget(buf, first, last)
  end
end

function H.set_lines(buf, first, last, lines)
  if first == 0 and last == -1 then
    H.forget_images(buf, 0)
    for _, ns in ipairs({ M.ns, M.marks, M.blocks, require('kernel.syntax').ns }) do
      api.nvim_buf_clear_namespace(buf, ns, 0, -1)
    end
  end
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, first, last, false, lines)
  vim.bo[buf].modifiable = false
end

-- The kernel runs input() or getpass(): ask the user, later, so this call returns at once.
-- Cancelling answers an empty string, so the kernel is never left waiting.
function H.ask(request)
  vim.schedule(function()
    local function answer(value)
      require('kernel.rpc').notify('input_reply', request.id, value or vim.NIL)
    end
    if request.password then
      local ok, value = pcall(vim.fn.inputsecret, request.prompt)
      answer(ok and value or nil)
    else
      vim.ui.input({ prompt = request.prompt }, answer)
    end
  end)
end

return M
