" kernel.nvim - editor-side helpers behind the commands and maps.
" Text is gathered here, in the editor, at the moment of the key press; the Python host only
" gets the code to send, so a busy host can never make a map read a stale cursor.

" Section: Calling the Python host

" Every call to the host goes through lua/kernel/rpc.lua, which checks that there is one.
function! s:error(text) abort
  call v:lua.require'kernel.message'.say('[kernel] ' . a:text, luaeval('vim.log.levels.ERROR'))
endfunction

function! s:host_ready() abort
  return v:lua.require'kernel.rpc'.ready()
endfunction

" Call the host without waiting for it.
function! kernel#rpc(method, ...) abort
  call luaeval('require("kernel.rpc").notify(unpack(_A, 1, #_A))', [a:method] + a:000)
endfunction

" The state of the link, read from g:kernel_state: never from the text KernelStatus() shows.
function! s:state() abort
  return get(get(g:, 'kernel_state', {}), 'state', 'disconnected')
endfunction

" The link is `connecting` at once, before the host hears of it: a send typed right after
" (`:KernelConnect 6759 | KernelExec ...`, `nvim +KernelConnect +KernelExec...`) passes the
" check in kernel#send(), and the host holds it until the kernel answers. Without a target the
" host may show a picker instead, and then says the state as it still is.
" kernel#connect({target} [, {bang}]): {bang} with no {target} always shows the picker, with
" the files of stopped kernels too. The picker calls it with the file chosen.
function! kernel#connect(target, ...) abort
  if s:host_ready()
    call kernel#attach()
    lua require('kernel.state').set_local('connecting')
    call kernel#rpc('connect', a:target, getcwd(), get(a:000, 0, 0))
  endif
endfunction

" Disconnected at once, so the next command typed finds it so; then the host is told.
function! kernel#disconnect() abort
  if s:host_ready()
    lua require('kernel.state').set_local('disconnected')
    call kernel#rpc('disconnect')
  endif
endfunction

" :KernelOutput goes to the output window, :KernelOutput! shows or closes it: done here, at
" once, so that a `:q` typed next closes the window it should.
function! kernel#output(bang) abort
  call v:lua.require'kernel.output'.open(a:bang ? v:true : v:false)
endfunction

" Empty the output buffer at once, then tell the host.
function! kernel#clear() abort
  lua require('kernel.output').clear()
endfunction

" :KernelOpen: the host knows what the output on this line holds, and opens it.
function! kernel#open() abort
  if bufname('%') !~# '^kernel://'
    return s:error('nothing to open here: :KernelOpen opens the output under the cursor in '
          \ . 'an output buffer (kernel://...)')
  endif
  call kernel#rpc('open', line('.'), bufname('%'))
endfunction

" :KernelSave: the host builds and writes the notebook while the editor goes on (a big one,
" images and all, takes it most of a second); its message says when the file is there. In an
" output buffer, that buffer's kernel is saved.
function! kernel#save(file, bang) abort
  let name = bufname('%') =~# '^kernel://' ? bufname('%') : ''
  call kernel#rpc('save', a:file, a:bang ? v:true : v:false, getcwd(), name)
endfunction

" Give a buffer that talks to the kernel `K` and completion, unless the user has their own:
" a global or buffer map of K, or an 'omnifunc' other than the filetype plugin's default.
function! kernel#attach() abort
  if exists('b:kernel_attached') || &buftype !=# ''
    return
  endif
  let b:kernel_attached = 1
  if !get(g:, 'kernel_no_mappings', 0)
    for mode in ['n', 'x']
      if empty(maparg('K', mode)) && !hasmapto('<Plug>(KernelInspect)', mode)
        execute mode . 'map <buffer> K <Plug>(KernelInspect)'
      endif
    endfor
  endif
  if &l:omnifunc =~# '^\%(\|python3complete#Complete\|pythoncomplete#Complete\|syntaxcomplete#Complete\)$'
    setlocal omnifunc=kernel#complete
  endif
endfunction

" With -bar, the command line holds `\|` and `\"` for `|` and `"`: so do the names completed.
function! kernel#complete_connect(arglead, cmdline, cursorpos) abort
  let arglead = substitute(a:arglead, '\\\([|"]\)', '\1', 'g')
  if arglead =~# '[/~.]'
    let found = getcompletion(arglead, 'file')
  else
    let found = luaeval('require("kernel.rpc").request("complete_connection", _A)', arglead)
  endif
  return map(found is v:null ? [] : found, {_, name -> escape(name, '|"')})
endfunction

" Section: Sending

" kernel#send({code} [, {first} [, {last}]]): the code, and the lines it came from (0: none).
function! kernel#send(code, ...) abort
  if s:state() ==# 'disconnected'
    return s:error('not connected: use :KernelConnect first')
  endif
  let first = get(a:000, 0, line('.'))
  let last = max([first, get(a:000, 1, first)])
  let source = {'buffer': bufnr('%'), 'file': expand('%:p'), 'line': first, 'last': last}
  if first > 0
    " What an earlier run of these lines showed goes now; g:kernel_inline gets an anchor.
    let anchor = v:lua.require'kernel.inline'.sent(source.buffer, first, last)
    if anchor isnot v:null
      let source.anchor = anchor
    endif
  endif
  call kernel#attach()
  call kernel#rpc('send', a:code, source)
endfunction

" Text taken from an output buffer is never sent: it could be a traceback, or anything the
" kernel printed. A history buffer (kernel-history://) holds code: sending from it is its point.
function! s:in_output() abort
  if bufname('%') =~# '^kernel://'
    call s:error('not sent: this buffer is the kernel''s output, not code')
    return 1
  endif
  return 0
endfunction

function! kernel#send_lines(first, last) abort
  if s:in_output()
    return
  endif
  let last = min([a:last, line('$')])
  call kernel#send(join(getline(a:first, last), "\n"), a:first, last)
endfunction

function! kernel#send_selection() abort
  if s:in_output()
    return
  endif
  call kernel#send(s:yank('gv'), line("'<"), line("'>"))
endfunction

" The operator: `<Plug>(KernelSendMotion)ip` sends a paragraph, and `.` sends again.
" The view is saved before `g@` moves the cursor to the start of the motion, and restored after.
function! kernel#send_motion(...) abort
  if a:0 == 0
    let s:view = winsaveview()
    set operatorfunc=kernel#send_motion
    return 'g@'
  endif
  let command = {'line': "'[V']", 'char': '`[v`]', 'block': "`[\<C-v>`]"}[a:1]
  let text = s:yank(command)
  let [first, last] = [line("'["), line("']")]
  if exists('s:view')
    call winrestview(s:view)
    unlet s:view
  endif
  if !s:in_output()
    call kernel#send(text, first, last)
  endif
endfunction

" Yank what `select` selects, leaving registers, 'selection' and 'clipboard' as they were.
function! s:yank(select) abort
  let saved = [getreginfo('"'), &selection, &clipboard]
  try
    if a:select !=# 'gv'
      set selection=inclusive
    endif
    set clipboard=
    silent execute 'normal! ' . a:select . 'y'
    return getreg('"')
  finally
    call setreg('"', saved[0])
    let [&selection, &clipboard] = saved[1:]
  endtry
endfunction

" Section: Inspect and completion

" Where the cursor is now: an answer that comes after it has moved is not shown.
function! s:here() abort
  return {'win': win_getid(), 'line': line('.'), 'col': col('.')}
endfunction

function! s:connected() abort
  if s:state() ==# 'disconnected'
    call s:error('not connected: use :KernelConnect first')
    return 0
  endif
  return 1
endfunction

function! kernel#inspect(code, col) abort
  if s:connected()
    call kernel#rpc('inspect', a:code, a:col, s:here())
  endif
endfunction

function! kernel#inspect_cursor() abort
  call kernel#inspect(getline('.'), col('.') - 1)
endfunction

function! kernel#inspect_selection() abort
  let code = s:yank('gv')
  call kernel#inspect(code, strlen(code))
endfunction

function! kernel#inspect_command(expr) abort
  return empty(a:expr) ? kernel#inspect_cursor() : kernel#inspect(a:expr, strlen(a:expr))
endfunction

" The 'omnifunc'. The kernel may take seconds (a first completion loads jedi), so nothing waits
" for it: findstart asks and returns -2, staying in completion mode, and the host calls
" complete() when the answer comes, if the cursor has not moved. A busy kernel is not asked.
function! kernel#complete(findstart, base) abort
  if !a:findstart
    return []
  endif
  if s:state() !~# '^\%(idle\|restarted\)$'
    return -3
  endif
  call kernel#rpc('complete', getline('.'), col('.') - 1, s:here())
  return -2
endfunction

" Section: Cells

" The pattern of a cell marker line: b:/g:kernel_cell_pattern, or `%%`, `In[ ]:` or
" `<codecell>` after the buffer's comment leader (`# %%`, `-- %%`, `// %%`).
function! kernel#cell_pattern() abort
  let pattern = get(b:, 'kernel_cell_pattern', get(g:, 'kernel_cell_pattern', ''))
  if !empty(pattern)
    return pattern
  endif
  let leader = matchstr(&commentstring, '^\s*\zs.\{-}\ze\s*%s')
  let leader = empty(leader) ? '#' : leader
  return '^\s*' . escape(leader, '\/.*$^~[]') . '\s*\%(%%\|In\s*\[\s*\d*\s*\]:\|<codecell>\)'
endfunction

" [first, last, next] of the cell around line `lnum`: its code lines (without the marker) and
" the first code line of the cell after it (0 when there is none).
function! kernel#cell_range(lnum) abort
  let pattern = kernel#cell_pattern()
  let first = a:lnum
  while first >= 1 && getline(first) !~# pattern
    let first -= 1
  endwhile
  let last = a:lnum + 1
  while last <= line('$') && getline(last) !~# pattern
    let last += 1
  endwhile
  let next = last <= line('$') ? last + 1 : 0
  return [first + 1, last - 1, min([next, line('$')])]
endfunction

function! kernel#send_cell(advance) abort
  if s:in_output()
    return
  endif
  let [first, last, next] = kernel#cell_range(line('.'))
  if first > last
    return s:error('nothing to send: the cell is empty')
  endif
  call kernel#send_lines(first, last)
  if a:advance && next > 0
    call cursor(next, 1)
  endif
endfunction
