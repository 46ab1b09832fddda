-- kernel.nvim: output rows highlighted as the language of the form they show.
--
-- The host marks the rows of a markdown, LaTeX or JSON form with a filetype, and output.lua's
-- H.mark calls highlight() as it writes them. The rows are parsed by tree-sitter when Neovim has
-- the language's parser and highlight query; each capture becomes an extmark of M.ns, which
-- output.lua clears with its own namespaces. Without a parser the rows stay plain.
--
-- Parsing is not done in the host's call: a form is queued with an extmark on its first row
-- (which moves as lines above it are trimmed, and goes when it is replaced), and parsed soon after,
-- a few at a time, so that a flood of forms never holds up typing. The output buffer is never
-- edited, so a form is parsed once.

-- Module definition ==========================================================
local M = {}
local H = {}

local api = vim.api

M.ns = api.nvim_create_namespace('kernel_syntax')

--- Highlight rows `first` to `last` (0-based, `last` not included) of `buf` as `filetype`, soon.
--- Never an error: without a parser, or for a form too big to parse at once, the rows stay plain.
---@param buf integer
---@param first integer
---@param last integer
---@param filetype string
function M.highlight(buf, first, last, filetype)
  if last <= first or last - first > H.max_rows or not H.language(filetype) then
    return
  end
  local id = api.nvim_buf_set_extmark(buf, M.ns, first, 0, {})
  H.queue[#H.queue + 1] = { buf = buf, id = id, rows = last - first, filetype = filetype }
  if not H.scheduled then
    H.scheduled = true
    vim.schedule(H.run)
  end
end

-- Helper data ================================================================
-- Past this a form stays plain: one parse cannot be split, and a 500-line markdown takes about
-- 30 ms to parse and highlight.
H.max_rows = 500
H.max_bytes = 50000

-- Time one turn of the queue may take before it lets the editor run (milliseconds).
H.budget = 8

-- Filetypes whose parser has another name, where no plugin has told Neovim so.
H.aliases = { tex = 'latex' }

-- filetype -> the parser's name, or false when Neovim has none (asked once per filetype).
H.languages = {}

-- As Neovim's own tree-sitter highlights (vim.hl.priorities.treesitter; vim.highlight's in 0.9).
H.priority = 100

-- Captures that are not colours.
H.skipped = { spell = true, nospell = true, conceal = true, none = true }

H.queue = {} -- {buf, id (the extmark on the form's first row), rows, filetype}, oldest first
H.scheduled = false

H.uv = vim.uv or vim.loop -- vim.loop before Neovim 0.10

-- Helper functionality =======================================================
function H.run()
  local start = H.uv.hrtime()
  while #H.queue > 0 and (H.uv.hrtime() - start) / 1e6 < H.budget do
    H.job(table.remove(H.queue, 1))
  end
  H.scheduled = #H.queue > 0
  if H.scheduled then
    vim.defer_fn(H.run, 1) -- a timer, not vim.schedule: typed keys get their turn first
  end
end

function H.job(job)
  if not api.nvim_buf_is_valid(job.buf) then
    return
  end
  -- Gone: its lines were replaced or trimmed since (the clear took the extmark along).
  local at = api.nvim_buf_get_extmark_by_id(job.buf, M.ns, job.id, {})
  api.nvim_buf_del_extmark(job.buf, M.ns, job.id)
  if not at[1] then
    return
  end
  local first = at[1]
  local lines = api.nvim_buf_get_lines(job.buf, first, first + job.rows, false)
  -- Every line ended: markdown's grammar reads a heading on the last line only so.
  local text = table.concat(lines, '\n') .. '\n'
  local lang = H.language(job.filetype)
  if lang and #text <= H.max_bytes and not pcall(H.apply, job.buf, first, text, lang) then
    H.languages[job.filetype] = false -- a parser that fails once is not tried again
  end
end

function H.language(filetype)
  local known = H.languages[filetype]
  if known == nil then
    local lang = vim.treesitter.language.get_lang(filetype) or filetype
    if lang == filetype then
      lang = H.aliases[filetype] or lang
    end
    known = H.usable(lang) and lang or false
    H.languages[filetype] = known
  end
  return known or nil
end

-- Neovim 0.11 answers nil and a reason for a missing parser; 0.9 and 0.10 raise an error.
function H.usable(lang)
  local ok, loaded, why = pcall(vim.treesitter.language.add, lang)
  if not ok or why ~= nil or loaded == false then
    return false
  end
  local found, query = pcall(vim.treesitter.query.get, lang, 'highlights')
  return found and query ~= nil
end

function H.apply(buf, first, text, lang)
  local parser = vim.treesitter.get_string_parser(text, lang)
  parser:parse(true) -- with injections: markdown's inline text is a language of its own
  parser:for_each_tree(function(tree, ltree)
    local query = vim.treesitter.query.get(ltree:lang(), 'highlights')
    if query then
      H.captures(buf, first, text, tree:root(), ltree:lang(), query)
    end
  end)
end

function H.captures(buf, first, text, root, lang, query)
  for id, node, metadata in query:iter_captures(root, text) do
    local name = query.captures[id]
    if not H.skipped[name] and name:sub(1, 1) ~= '_' then
      local range = metadata[id] and metadata[id].range
      local sr, sc, er, ec
      if range then
        sr, sc, er, ec = range[1], range[2], range[3], range[4]
      else
        sr, sc, er, ec = node:range()
      end
      api.nvim_buf_set_extmark(buf, M.ns, first + sr, sc, {
        end_row = first + er,
        end_col = ec,
        hl_group = '@' .. name .. '.' .. lang,
        priority = tonumber(metadata.priority) or H.priority,
        strict = false,
      })
    end
  end
end

return M
