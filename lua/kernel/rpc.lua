-- kernel.nvim: the one way the editor calls the Python host.
--
-- Every call checks first that there is a host to call: the python3 provider, and the remote
-- plugin registered by :UpdateRemotePlugins. Without them a call would fail with Vim's own
-- multi-line error; here it is one `[kernel]` line that says what to do. Vimscript comes through
-- kernel#rpc(). The user's settings go along with every call, so that the host never asks
-- Neovim for a variable in the middle of a command (which would let the next command run first).

-- Module definition ==========================================================
local M = {}
local H = {}

--- Whether the host can be called; if not, say why (one message) and return false.
---@return boolean
function M.ready()
  local why = H.missing()
  if why then
    require('kernel.message').say('[kernel] ' .. why, vim.log.levels.ERROR)
    return false
  end
  return true
end

--- Call the host without waiting for it: `KernelRpc(method, options, ...)`. The editor never
--- waits on a kernel; what the call changes comes back later as an update.
---@param method string
function M.notify(method, ...)
  if M.ready() then
    vim.fn.KernelRpc(method, M.options(), ...)
  end
end

--- Call the host and wait for its answer: `KernelRpcSync(method, options, ...)`. Only for calls
--- that never touch the kernel (tab completion of file names); nil when there is no host.
---@param method string
function M.request(method, ...)
  if M.ready() then
    return vim.fn.KernelRpcSync(method, M.options(), ...)
  end
end

--- The settings the host needs (session/options.py reads them; a bad value is its default).
---@return table
function M.options()
  return {
    max_lines = H.get(vim.g.kernel_output_max_lines, 0),
    show_other_output = H.get(vim.g.kernel_show_other_output, 1),
    error_quickfix = H.get(vim.g.kernel_error_quickfix, 0),
    output_open = H.get(vim.g.kernel_output_open, 'always'),
    allow_unsigned = H.get(vim.g.kernel_allow_unsigned, 0),
    mime_preference = H.get(vim.g.kernel_mime_preference, vim.NIL),
    image = require('kernel.media').host_mode(),
    image_rows = H.get(vim.g.kernel_image_rows, 20),
    image_columns = H.image_columns(),
    inline = H.get(vim.g.kernel_inline, 0),
    keep_started = H.get(vim.g.kernel_keep_started, 0),
    servers = H.get(vim.g.kernel_servers, vim.NIL),
    ssh_command = H.get(vim.g.kernel_ssh_command, vim.NIL),
  }
end

-- Helper functionality =======================================================
function H.get(value, default)
  if value == nil then
    return default
  end
  return value
end

-- Previews are drawn to fit the output window (this tab's), else half the screen.
function H.image_columns()
  local win = require('kernel.window').find()
  local width = win and vim.api.nvim_win_get_width(win) or math.floor(vim.o.columns / 2)
  return math.max(1, width - 1)
end

function H.missing()
  if vim.fn.has('python3') == 0 then
    return 'needs the python3 provider with pynvim, pyzmq and jupyter_core: see :checkhealth kernel'
  end
  -- Until first use, a registered remote function is only a FuncUndefined autocommand.
  if vim.fn.exists('*KernelRpc') == 0 and vim.fn.exists('#FuncUndefined#KernelRpc') == 0 then
    return 'the remote plugin is not registered: run :UpdateRemotePlugins, then restart Neovim'
  end
end

return M
