-- kernel.nvim: the state of the link, as data.
--
-- `g:kernel_state` holds what the host last said (editor/protocol.py's StatePayload), or what a
-- command of the editor set at once, before the host heard of it (:KernelConnect,
-- :KernelDisconnect, :KernelStart). Maps and statuslines read its keys; nothing parses its `text`.
--   state   disconnected | starting | connecting | idle | busy | restarted | unresponsive |
--           reconnecting | dead
--   name    the kernel's short name (kernel-6759), '' when not known
--   buffer  the linked kernel's output buffer (kernel://kernel-6759.json), '' when none
--   busy    '' | 'ours' (code sent from here runs) | 'other' (only other clients' code)
--   text    what KernelStatus() returns: 'kernel-6759 busy (other)', 'disconnected'

-- Module definition ==========================================================
local M = {}
local H = {}

--- The state now (a copy): `disconnected` before anything was set.
---@return table
function M.get()
  return vim.g.kernel_state or H.make('disconnected', '')
end

--- Store a new state, redraw the statuslines and fire `User KernelStatusChanged`.
---@param state table a StatePayload
function M.set(state)
  if state.buffer ~= '' then
    H.last_buffer = state.buffer
  end
  vim.g.kernel_state = state
  vim.g.kernel_status = state.text -- the name kept from before g:kernel_state
  vim.cmd('redrawstatus!')
  vim.api.nvim_exec_autocmds('User', { pattern = 'KernelStatusChanged', modeline = false })
end

--- Set a state the editor knows before the host does: 'connecting', 'starting' or
--- 'disconnected'.
---@param name string
function M.set_local(name)
  M.set(H.make(name, name))
end

--- The output buffer a command is about: the linked kernel's, else the last one linked.
---@return string
function M.output_buffer()
  local buffer = M.get().buffer
  return buffer ~= '' and buffer or H.last_buffer
end

-- Helper data ================================================================
H.last_buffer = ''

-- Helper functionality =======================================================
function H.make(state, text)
  return { state = state, name = '', buffer = '', busy = '', text = text }
end

return M
