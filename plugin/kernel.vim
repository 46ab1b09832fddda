" kernel.nvim - run code from Neovim in a running Jupyter kernel
" Maintainer: the kernel.nvim developers
" Help: :help kernel.txt

if exists('g:loaded_kernel') || &compatible
  finish
endif
let g:loaded_kernel = 1

if !has('nvim-0.9')
  " The one-line fallback: every command says why nothing happens.
  for s:cmd in ['KernelConnect', 'KernelDisconnect', 'KernelSend', 'KernelSendCell',
        \ 'KernelExec', 'KernelOutput', 'KernelClear', 'KernelInterrupt', 'KernelInspect',
        \ 'KernelHistory', 'KernelTraceback', 'KernelOpen', 'KernelSave', 'KernelList']
    execute 'command! -nargs=* -range -bang' s:cmd
          \ 'echohl ErrorMsg | echo "[kernel] kernel.nvim needs Neovim 0.9 or newer" | echohl None'
  endfor
  finish
endif

" Section: Commands

" -bar: `:KernelConnect 6759 | KernelExec print(1)`. A `|` or `"` in a path is written `\|`,
" `\"`, as for :edit; <q-args> holds it without the backslash.
" Without a target: the one running kernel, or a picker of them; ! picks among stopped ones too.
command! -bar -bang -nargs=? -complete=customlist,kernel#complete_connect KernelConnect
      \ call kernel#connect(<q-args>, <bang>0)
" The picker however many kernels run: which one is linked, which are ours.
command! -bar -bang KernelList call kernel#rpc('list', <bang>0)
command! -bar KernelDisconnect call kernel#disconnect()
command! -range KernelSend call kernel#send_lines(<line1>, <line2>)
command! -bar KernelSendCell call kernel#send_cell(0)
" No -bar: `|` and `"` belong to the code.
command! -nargs=+ KernelExec call kernel#send(<q-args>, 0)
command! -bar -bang KernelOutput call kernel#output(<bang>0)
command! -bar KernelClear call kernel#clear()
command! -bar KernelInterrupt call kernel#rpc('interrupt')
command! -nargs=? KernelInspect call kernel#inspect_command(<q-args>)
command! -bar -count=0 KernelHistory call kernel#rpc('history', <count>)
command! -bar KernelTraceback call kernel#rpc('traceback')
command! -bar KernelOpen call kernel#open()
" -complete=file: Vim expands `~` and `%` in {file} as for :write (`:KernelSave %:r.ipynb`).
command! -bar -bang -nargs=1 -complete=file KernelSave call kernel#save(<q-args>, <bang>0)

" KernelStatus() is for the statusline: 'kernel-6759 idle', 'kernel-6759 busy (other)',
" 'disconnected'. It reads g:kernel_state, which the plugin keeps current, so a redraw never
" waits on the host. Code that decides something reads g:kernel_state.state, not this text.
function! KernelStatus() abort
  return get(get(g:, 'kernel_state', {}), 'text', 'disconnected')
endfunction

" Section: Maps

nnoremap <silent> <Plug>(KernelSendLine)
      \ <Cmd>call kernel#send_lines(line('.'), line('.') + v:count1 - 1)<CR>
xnoremap <silent> <Plug>(KernelSendSelection) :<C-u>call kernel#send_selection()<CR>
nnoremap <silent> <expr> <Plug>(KernelSendMotion) kernel#send_motion()
nnoremap <silent> <Plug>(KernelSendCell) <Cmd>call kernel#send_cell(0)<CR>
nnoremap <silent> <Plug>(KernelSendCellAndNext) <Cmd>call kernel#send_cell(1)<CR>
nnoremap <silent> <Plug>(KernelInterrupt) <Cmd>call kernel#rpc('interrupt')<CR>
nnoremap <silent> <Plug>(KernelInspect) <Cmd>call kernel#inspect_cursor()<CR>
xnoremap <silent> <Plug>(KernelInspect) :<C-u>call kernel#inspect_selection()<CR>

function! s:map(mode, lhs, rhs) abort
  if !hasmapto(a:rhs, a:mode) && empty(mapcheck(a:lhs, a:mode))
    execute a:mode . 'map' a:lhs a:rhs
  endif
endfunction

if !get(g:, 'kernel_no_mappings', 0)
  call s:map('n', '<LocalLeader>l', '<Plug>(KernelSendLine)')
  call s:map('x', '<LocalLeader>s', '<Plug>(KernelSendSelection)')
  call s:map('n', '<LocalLeader>s', '<Plug>(KernelSendMotion)')
  call s:map('n', '<LocalLeader>c', '<Plug>(KernelSendCell)')
  call s:map('n', '<LocalLeader>x', '<Plug>(KernelSendCellAndNext)')
  call s:map('n', '<LocalLeader>i', '<Plug>(KernelInterrupt)')
endif

" Section: Highlights

" Every group and the colours behind them are in lua/kernel/highlights.lua, as defaults, so a
" colour scheme or the user wins. Applied again after :colorscheme, which clears them.
lua require('kernel.highlights').apply()

augroup kernel_highlights
  autocmd!
  autocmd ColorScheme * lua require('kernel.highlights').apply()
augroup END
