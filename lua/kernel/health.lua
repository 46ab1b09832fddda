-- kernel.nvim: `:checkhealth kernel`.
--
-- Everything about Python is asked of the python3 host program itself, in one run of it: the
-- packages must be importable there, not in whatever `python3` this process would find. The
-- connection files are listed by kernel.nvim's own Python code, so the health check searches
-- exactly where :KernelConnect does. Only file names are reported, never their contents: a
-- connection file holds the kernel's key.

-- Module definition ==========================================================
local M = {}
local H = {}

local health = vim.health or require('health')
-- The names of Neovim 0.10+, else those of 0.9.
local start = health.start or health.report_start
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local fail = health.error or health.report_error
local info = health.info or health.report_info

--- Run by `:checkhealth kernel`.
function M.check()
  start('Neovim')
  H.check_neovim()
  local report = H.check_python()
  H.check_registered()
  H.check_connections(report)
  H.check_start(report)
  H.check_ssh()
  H.check_servers()
  H.check_images(report)
  H.check_status()
end

-- Helper data ================================================================
-- (H.check_servers: g:kernel_servers as the host reads it; a token is never shown.)
-- Import name and pip name of each package the host needs.
H.packages = {
  { name = 'pynvim', pip = 'pynvim' },
  { name = 'zmq', pip = 'pyzmq' },
  { name = 'jupyter_core', pip = 'jupyter_core' },
  -- Optional: only the half-block image previews need it (|g:kernel_image|).
  { name = 'PIL', pip = 'Pillow', optional = 'image previews drawn with half blocks' },
  -- Optional: only :KernelStart needs it.
  { name = 'jupyter_client', pip = 'jupyter_client', optional = 'starting kernels (:KernelStart)' },
  -- Optional: :KernelSave writes notebooks without it, unchecked.
  { name = 'nbformat', pip = 'nbformat', optional = ':KernelSave checks the notebooks it writes' },
  -- Optional: only kernels behind a Jupyter Server (:KernelConnect https://...) need it.
  { name = 'websocket', pip = 'websocket-client', optional = 'kernels behind a Jupyter Server' },
}
H.newest_files = 5
-- What the host makes of images (lua/kernel/media.lua M.host_mode()), in words.
H.image_modes = {
  blocks = 'as half-block previews',
  file = 'by snacks.nvim or image.nvim',
  both = 'by an image plugin if it can, else as half-block previews',
  none = 'as their line only',
}

-- Run by the host program with the arguments: the repo's rplugin/python3, how many files to
-- describe, then `import name:pip name` of each package. Prints one JSON object as its last line.
H.script = [[
import json, os, sys, types

report = {"python": sys.version.split()[0], "python_ok": sys.version_info >= (3, 9),
          "modules": {}}
try:
    from importlib.metadata import version
except ImportError:
    version = None
for module, dist in (arg.split(":") for arg in sys.argv[3:]):
    try:
        imported = __import__(module)
    except Exception as e:
        report["modules"][module] = {"error": "%s: %s" % (type(e).__name__, e)}
        continue
    try:
        found = version(dist) if version else imported.__version__
    except Exception:
        found = getattr(imported, "__version__", "?")
    report["modules"][module] = {"version": str(found)}
    if module == "zmq":
        curve = "" if imported.has("curve") else " (without CurveZMQ)"
        report["modules"][module]["libzmq"] = imported.zmq_version() + curve
try:
    # The package's __init__ imports pynvim, which existing does not need: with a bare package
    # object the files are listed even in a python that lacks pynvim.
    package = types.ModuleType("kernel_nvim")
    package.__path__ = [os.path.join(sys.argv[1], "kernel_nvim")]
    sys.modules["kernel_nvim"] = package
    from kernel_nvim.kernel.sources import connection_file, existing

    files = existing.list_connection_files()
    newest = []
    for path in files[:int(sys.argv[2])]:
        try:
            alive = connection_file.looks_alive(connection_file.load_connection_file(path, True))
        except Exception:
            alive = False
        newest.append({"name": os.path.basename(path), "alive": alive})
    report["connections"] = {"dirs": existing.search_dirs(), "count": len(files),
                             "newest": newest}
except Exception as e:
    report["connections"] = {"error": "%s: %s" % (type(e).__name__, e)}
print(json.dumps(report))
]]

-- Helper functionality =======================================================
function H.check_neovim()
  local v = vim.version()
  local text = string.format('Neovim %d.%d.%d', v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.9') == 1 then
    ok(text)
  else
    fail(text .. ': kernel.nvim needs Neovim 0.9 or newer')
  end
end

function H.host_program()
  if vim.g.python3_host_prog and vim.g.python3_host_prog ~= '' then
    return vim.fn.expand(vim.g.python3_host_prog), 'g:python3_host_prog'
  end
  local found, prog = pcall(vim.fn['provider#python3#Prog'])
  if found and type(prog) == 'string' and prog ~= '' then
    return prog, 'found by the python3 provider'
  end
  return 'python3', 'default'
end

function H.repo_root()
  local source = debug.getinfo(1, 'S').source:gsub('^@', '')
  return vim.fn.fnamemodify(source, ':p:h:h:h')
end

-- The host program's report, or nil and why not.
function H.ask_python(prog)
  local rplugin = H.repo_root() .. '/rplugin/python3'
  local argv = { prog, '-c', H.script, rplugin, tostring(H.newest_files) }
  for _, package in ipairs(H.packages) do
    argv[#argv + 1] = package.name .. ':' .. package.pip
  end
  local output = vim.fn.system(argv)
  if vim.v.shell_error ~= 0 then
    return nil, string.format('%s failed (exit %d): %s', prog, vim.v.shell_error, output)
  end
  -- stderr is mixed in: warnings Python prints on startup come before the report.
  local lines = vim.split(output, '\n', { trimempty = true })
  local decoded, report = pcall(vim.json.decode, lines[#lines] or '')
  if not decoded or type(report) ~= 'table' then
    return nil, string.format('%s printed no report: %s', prog, output)
  end
  return report
end

function H.check_python()
  start('Python host')
  if vim.g.loaded_python3_provider == 0 then
    fail('the python3 provider is disabled (g:loaded_python3_provider = 0)')
    return nil
  end
  local prog, origin = H.host_program()
  if vim.fn.executable(prog) ~= 1 then
    fail(string.format('python3 host program not found: %s (%s)', prog, origin), {
      'Install Python 3 or set g:python3_host_prog; see :checkhealth provider',
    })
    return nil
  end
  local report, why = H.ask_python(prog)
  if not report then
    fail(why)
    return nil
  end
  local host = string.format('python3 host program: %s (%s), Python %s', prog, origin,
    report.python)
  if report.python_ok then
    ok(host)
  else
    fail(host .. ': kernel.nvim needs Python 3.9 or newer', {
      'point g:python3_host_prog at a newer python; see :checkhealth provider',
    })
  end
  for _, package in ipairs(H.packages) do
    local found = report.modules[package.name] or {}
    if found.version then
      local libzmq = found.libzmq and (', libzmq ' .. found.libzmq) or ''
      ok(string.format('%s %s%s', package.pip, found.version, libzmq))
    elseif package.optional then
      warn(string.format('%s is not installed (optional: %s)', package.pip, package.optional), {
        string.format('%s -m pip install %s', prog, package.pip),
      })
    else
      fail(string.format('%s is missing: %s', package.pip, found.error or 'not importable'), {
        string.format('%s -m pip install %s', prog, package.pip),
      })
    end
  end
  return report
end

function H.check_registered()
  start('Remote plugin')
  if vim.fn.exists('*KernelRpc') == 1 or vim.fn.exists('#FuncUndefined#KernelRpc') == 1 then
    ok('registered: KernelRpc is defined')
  else
    fail('not registered: KernelRpc is not defined', {
      'run :UpdateRemotePlugins and restart Neovim',
    })
  end
end

function H.check_connections(report)
  start('Kernels')
  local connections = report and report.connections
  if not connections then
    warn('not searched: the python3 host program does not work (see above)')
    return
  end
  if connections.error then
    warn('cannot search for connection files: ' .. connections.error)
    return
  end
  local dirs = vim.tbl_map(function(d)
    return vim.fn.fnamemodify(d, ':~')
  end, connections.dirs)
  info('searched: ' .. (#dirs > 0 and table.concat(dirs, ', ') or 'no such directory exists yet'))
  if connections.count == 0 then
    info('no kernels running: no connection file found (start one, e.g. `ipython kernel`)')
    return
  end
  info(string.format('%d connection file(s), newest first:', connections.count))
  for _, file in ipairs(connections.newest) do
    info(string.format('  %s (%s)', file.name, file.alive and 'answers' or 'no answer'))
  end
end

-- Run by the host program with the repo's rplugin/python3, the buffer's file and the cwd: the
-- kernelspecs and the project's environments, as :KernelStart finds them (one JSON line).
H.start_script = [[
import json, os, sys, types

package = types.ModuleType("kernel_nvim")
package.__path__ = [os.path.join(sys.argv[1], "kernel_nvim")]
sys.modules["kernel_nvim"] = package
from kernel_nvim.kernel.sources import choices

print(json.dumps(choices.health_report(sys.argv[2], sys.argv[3])))
]]

function H.check_start(report)
  start('Starting kernels (:KernelStart)')
  if not report then
    warn('not looked for: the python3 host program does not work (see above)')
    return
  end
  local argv = { H.host_program(), '-c', H.start_script, H.repo_root() .. '/rplugin/python3',
    vim.fn.expand('%:p'), vim.fn.getcwd() }
  local output = vim.fn.system(argv)
  local lines = vim.split(output, '\n', { trimempty = true })
  local decoded, found = pcall(vim.json.decode, lines[#lines] or '')
  if vim.v.shell_error ~= 0 or not decoded or type(found) ~= 'table' then
    warn('cannot list them: ' .. output)
    return
  end
  if found.kernelspecs_error then
    warn('kernelspecs not listed: ' .. found.kernelspecs_error)
  elseif #found.kernelspecs == 0 then
    info('no kernelspec found (jupyter kernelspec list)')
  end
  for _, spec in ipairs(found.kernelspecs or {}) do
    H.report_python(string.format('kernelspec %s (%s, %s)', spec.name, spec.display_name,
      spec.language ~= '' and spec.language or '?'), spec)
  end
  if #found.environments == 0 then
    info('no project environment found (.venv, venv, $VIRTUAL_ENV, $CONDA_PREFIX, python3)')
  end
  for _, env in ipairs(found.environments) do
    H.report_python('environment ' .. env.label, env)
  end
end

-- :KernelConnect ssh://: the ssh that g:kernel_ssh_command runs, and its version.
function H.check_ssh()
  start('Kernels on other hosts (:KernelConnect ssh://)')
  local command = vim.g.kernel_ssh_command
  if command == nil then
    info('g:kernel_ssh_command is not set: ssh is run as `ssh`')
    command = { 'ssh' }
  elseif not H.is_words(command) then
    warn('g:kernel_ssh_command is not a list of words: ssh is run as `ssh`')
    command = { 'ssh' }
  else
    info('g:kernel_ssh_command: ' .. table.concat(command, ' '))
  end
  local path = vim.fn.exepath(command[1])
  if path == '' then
    warn(command[1] .. ' is not found on PATH: kernels on other hosts cannot be reached',
      { 'install OpenSSH\'s client, or set g:kernel_ssh_command' })
    return
  end
  local version = vim.split(vim.fn.system({ path, '-V' }), '\n', { trimempty = true })[1] or ''
  ok(string.format('%s: %s', path, version ~= '' and version or 'version unknown'))
end

-- A non-empty list of non-empty strings, as session/options.py takes g:kernel_ssh_command.
function H.is_words(value)
  if type(value) ~= 'table' or #value == 0 then
    return false
  end
  for _, word in ipairs(value) do
    if type(word) ~= 'string' or word == '' then
      return false
    end
  end
  return true
end

-- One kernelspec or environment: whether its python has ipykernel (nil: not a python's).
function H.report_python(what, found)
  if found.ipykernel == nil then
    ok(what)
  elseif found.ipykernel then
    ok(what .. ': has ipykernel')
  elseif found.problem ~= '' then
    warn(string.format('%s: its python does not run (%s)', what, found.problem))
  else
    warn(what .. ': no ipykernel', { found.install })
  end
end

-- What each way of showing images can do here, and which of them 'auto' takes: the order of
-- lua/kernel/media.lua (snacks.nvim, else a loaded image.nvim, else half blocks).
function H.check_images(report)
  start('Images')
  local terminal = require('kernel.media').terminal()
  local snacks, snacks_shows = H.snacks_images(terminal)
  local image_nvim, image_nvim_shows = H.image_nvim_images(terminal)
  local blocks, blocks_draw = H.blocks_images(report)
  -- Asked after snacks.nvim has had the terminal's answer, so that it is known.
  local choice = vim.g.kernel_image or 'auto'
  local shown = H.image_modes[require('kernel.media').host_mode()]
  info(string.format("g:kernel_image = '%s': images are shown %s", choice, shown))
  info('snacks.nvim: ' .. snacks)
  info('image.nvim: ' .. image_nvim)
  info('half blocks: ' .. blocks)
  local auto = snacks_shows and 'snacks.nvim'
    or image_nvim_shows and 'image.nvim'
    or blocks_draw and 'half blocks'
    or "only each image's line"
  info(string.format("g:kernel_image = 'auto' uses %s here", auto))
  local usable = { snacks = snacks_shows, ['image.nvim'] = image_nvim_shows, blocks = blocks_draw }
  if usable[choice] == false then
    warn(string.format("g:kernel_image = '%s' cannot show images here (see above)", choice))
  end
end

function H.installed(module)
  return #vim.api.nvim_get_runtime_file('lua/' .. module .. '/init.lua', false) > 0
    or #vim.api.nvim_get_runtime_file('lua/' .. module .. '.lua', false) > 0
end

-- snacks.nvim asks the terminal what it is, and waits up to a second for the answer (as its
-- own health check does): a check may wait, a placed image may not (media.lua asks early).
function H.snacks_images(terminal)
  if not H.installed('snacks') then
    return 'not installed', false
  elseif not H.installed('snacks/image') then
    return 'installed, without the image module (a newer snacks.nvim has it)', false
  elseif not terminal then
    return 'installed; no terminal shows this Neovim, so it shows no images here', false
  end
  local image = require('snacks').image
  local answer
  image.terminal.detect(function(term)
    answer = term
  end)
  vim.wait(1500, function()
    return answer ~= nil
  end, 10)
  local env = image.terminal.env()
  local name = (env.name ~= '' and env.name) or (answer and answer.terminal) or 'unknown'
  if image.supports_terminal() then
    return string.format('installed; it says the terminal (%s) shows images', name), true
  end
  return string.format('installed; it says the terminal (%s) shows no images', name), false
end

-- image.nvim does not ask the terminal: it trusts the backend its setup() was given. Its setup
-- is what defines :ImageReport.
function H.image_nvim_images(terminal)
  if not H.installed('image') then
    return 'not installed', false
  elseif not package.loaded['image'] then
    return "installed, not loaded: g:kernel_image = 'auto' uses it once it is set up", false
  elseif vim.fn.exists(':ImageReport') ~= 2 then
    return "loaded, but not set up: call require('image').setup()", false
  elseif not terminal then
    return 'set up; no terminal shows this Neovim, so it shows no images here', false
  end
  return 'set up, in a terminal', true
end

-- The host draws them with Pillow; Neovim shows them with 'termguicolors'.
function H.blocks_images(report)
  local pillow = report and report.modules.PIL and report.modules.PIL.version
  local missing = {}
  if not report then
    missing[#missing + 1] = 'a python3 host program that works (see above)'
  elseif not pillow then
    missing[#missing + 1] = 'Pillow in the python3 host'
  end
  if not vim.o.termguicolors then
    missing[#missing + 1] = "'termguicolors'"
  end
  if #missing > 0 then
    return 'not drawn: they need ' .. table.concat(missing, ' and '), false
  end
  return string.format("drawn by Pillow %s, shown with 'termguicolors'", pillow), true
end

function H.check_status()
  start('Status')
  if vim.fn.exists('*KernelStatus') == 1 then
    info('KernelStatus(): ' .. vim.fn.KernelStatus())
  else
    warn('plugin/kernel.vim is not loaded: KernelStatus() is not defined')
  end
end

-- The servers of g:kernel_servers: whether each has a token (never the token itself) and
-- whether its CA bundle is a readable file.
function H.check_servers()
  start('Jupyter Servers (g:kernel_servers)')
  local servers = vim.g.kernel_servers
  if servers == nil or vim.tbl_isempty(servers) then
    ok('none configured: a URL carries its token, or it is asked once (:KernelConnect https://...)')
    return
  end
  if type(servers) ~= 'table' then
    warn('g:kernel_servers is not a dictionary of {url: {token, ca}}: it is ignored')
    return
  end
  for url, entry in pairs(servers) do
    entry = type(entry) == 'table' and entry or {}
    local token = type(entry.token) == 'string' and entry.token ~= '' and 'a token' or 'no token'
    if not (type(url) == 'string' and url:match('^https?://')) then
      warn(string.format('%s: not an http(s):// URL, ignored', tostring(url)))
    elseif entry.ca and vim.fn.filereadable(entry.ca) == 0 then
      warn(string.format('%s: %s; its CA bundle %s is not a readable file', url, token, entry.ca))
    else
      local ca = entry.ca and (', CA bundle ' .. entry.ca) or ''
      ok(string.format('%s: %s%s', url, token, ca))
    end
  end
end

return M
