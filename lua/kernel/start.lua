-- kernel.nvim: the editor side of kernels we start (:KernelStart).
--
-- The host gathers what can be started (that runs pythons: it takes a moment) and sends the
-- lines of a picker; the picker is vim.ui.select, so dressing.nvim, snacks.nvim or telescope's
-- ui-select show it their way. The choice goes back as its index. Once a kernel is started,
-- Neovim's exit asks the host, and waits a bounded time, to stop the kernels it started
-- (unless g:kernel_keep_started): a Neovim that never started one does not call the host then.

-- Module definition ==========================================================
local M = {}
local H = {}

--- :KernelStart [name]: `where` is {file, cwd, filetype} of the buffer it was typed in.
---@param name string
---@param where table
function M.start(name, where)
  H.stop_at_exit()
  if name ~= '' then
    require('kernel.state').set_local('starting')
  end
  require('kernel.rpc').notify('start', name, where)
end

--- The host's picker: {prompt, items}. Scheduled, out of the host's call: the picker waits for
--- the user, and the host must not wait with it.
---@param menu table
function M.pick(menu)
  vim.schedule(function()
    vim.ui.select(menu.items, { prompt = menu.prompt, kind = 'kernel.start' }, function(_, index)
      if index then
        require('kernel.state').set_local('starting')
        require('kernel.rpc').notify('start_pick', index)
      end
    end)
  end)
end

-- Helper data ================================================================
H.group = nil

-- Helper functionality =======================================================
function H.stop_at_exit()
  if H.group then
    return
  end
  H.group = vim.api.nvim_create_augroup('kernel_start', { clear = true })
  vim.api.nvim_create_autocmd('VimLeavePre', {
    group = H.group,
    desc = 'kernel.nvim: stop the kernels started here',
    callback = function()
      -- Only a host that runs has kernels to stop: calling it would start one.
      if vim.fn['remote#host#IsRunning']('python3') == 1 then
        pcall(require('kernel.rpc').request, 'exit')
      end
    end,
  })
end

return M
