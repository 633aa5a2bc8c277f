-- PAIRED for Neovim 0.7 and later: one `paired lsp` client per project root
-- (the folder holding `.paired/` or `.git/`), shared by that project's buffers.
-- Every client talks to the same PAIRED daemon.
--
-- Neovim 0.11+: the built-in `vim.lsp.config`/`vim.lsp.enable`. Older: a
-- `FileType` autocommand and `vim.lsp.start_client`.
--
-- Inline completions (a model under `[completion]` or `[agents] provider`):
-- Neovim 0.12 has them built in (`vim.lsp.inline_completion`, docs/editors.md);
-- on 0.11 this file shows them itself, from `textDocument/inlineCompletion`:
-- grey text after a pause in typing (or `require('paired').complete()`),
-- `<Tab>` accepts, anything else typed dismisses.
local M = {}

M.filetypes = {
  'rust', 'python', 'go', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'java', 'html',
  'c', 'cpp', 'cs', 'ruby', 'php', 'kotlin', 'swift', 'sh', 'bash',
}

if vim.lsp.config then
  vim.lsp.config('paired', { cmd = { 'paired', 'lsp' }, root_markers = { '.paired', '.git' }, filetypes = M.filetypes })
  vim.lsp.enable('paired')
else
  local clients = {}

  local function project_root(file)
    local dir = vim.fn.fnamemodify(file, ':p:h')
    for _, marker in ipairs({ '.paired', '.git' }) do
      local found = vim.fn.finddir(marker, dir .. ';')
      if found ~= '' then
        return vim.fn.fnamemodify(found, ':p:h:h')
      end
    end
    return vim.fn.getcwd()
  end

  vim.api.nvim_create_autocmd('FileType', {
    pattern = M.filetypes,
    callback = function(args)
      local root = project_root(vim.api.nvim_buf_get_name(args.buf))
      local id = clients[root]
      if not id or not vim.lsp.get_client_by_id(id) then
        id = vim.lsp.start_client({ name = 'paired', cmd = { 'paired', 'lsp' }, root_dir = root })
        clients[root] = id
      end
      if id then
        vim.lsp.buf_attach_client(args.buf, id)
      end
    end,
  })
end

-- Inline completions for Neovim 0.11 (0.12's own are better: use them there).
if vim.lsp.config and not vim.lsp.inline_completion then
  M.namespace = vim.api.nvim_create_namespace('paired_inline')
  -- The completion shown now: its buffer, client, text and where it goes.
  local shown = nil
  local timer = nil

  local function clear()
    if shown and vim.api.nvim_buf_is_valid(shown.buf) then
      vim.api.nvim_buf_clear_namespace(shown.buf, M.namespace, 0, -1)
    end
    shown = nil
  end

  --- Asks PAIRED for a completion at the cursor and shows it as grey text.
  function M.complete()
    clear()
    local buf, win = vim.api.nvim_get_current_buf(), vim.api.nvim_get_current_win()
    local client = vim.lsp.get_clients({ bufnr = buf, name = 'paired' })[1]
    if not client then
      return false
    end
    local row, col = unpack(vim.api.nvim_win_get_cursor(win))
    local tick = vim.api.nvim_buf_get_changedtick(buf)
    local params = vim.lsp.util.make_position_params(win, client.offset_encoding)
    params.context = { triggerKind = 1 }
    client:request('textDocument/inlineCompletion', params, function(err, result)
      -- Typed on since: this answer is for text that is no longer there.
      if err or not result or not vim.api.nvim_buf_is_valid(buf) or vim.api.nvim_buf_get_changedtick(buf) ~= tick then
        return
      end
      local item = (result.items or result)[1]
      local text = item and (type(item.insertText) == 'table' and item.insertText.value or item.insertText)
      if not text or text == '' then
        return
      end
      clear()
      local lines = vim.split(text, '\n', { plain = true })
      local mark = { virt_text = { { lines[1], 'Comment' } }, virt_text_pos = 'inline' }
      if #lines > 1 then
        mark.virt_lines = {}
        for i = 2, #lines do
          mark.virt_lines[#mark.virt_lines + 1] = { { lines[i], 'Comment' } }
        end
      end
      vim.api.nvim_buf_set_extmark(buf, M.namespace, row - 1, col, mark)
      shown = { buf = buf, client = client, item = item, text = text, lines = lines, row = row - 1, col = col }
    end, buf)
    return true
  end

  --- Inserts the completion shown, if any; the cursor goes to its end.
  function M.accept()
    if not shown or shown.buf ~= vim.api.nvim_get_current_buf() then
      return false
    end
    local s = shown
    clear()
    local at = vim.lsp.util.make_position_params(0, s.client.offset_encoding).position
    local range = s.item.range or { start = at, ['end'] = at }
    vim.lsp.util.apply_text_edits({ { range = range, newText = s.text } }, s.buf, s.client.offset_encoding)
    local last = s.lines[#s.lines]
    local row = s.row + #s.lines
    vim.api.nvim_win_set_cursor(0, { row, #s.lines == 1 and s.col + #last or #last })
    return true
  end

  local group = vim.api.nvim_create_augroup('paired_inline', { clear = true })
  vim.api.nvim_create_autocmd('TextChangedI', {
    group = group,
    callback = function(args)
      clear()
      if timer then
        timer:stop()
      end
      timer = vim.defer_fn(function()
        if vim.api.nvim_get_current_buf() == args.buf and vim.fn.mode() == 'i' then
          M.complete()
        end
      end, 200)
    end,
  })
  vim.api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave', 'CursorMovedI' }, { group = group, callback = clear })
  vim.keymap.set('i', '<Tab>', function()
    if shown then
      vim.schedule(M.accept)
      return ''
    end
    return '<Tab>'
  end, { expr = true, desc = 'PAIRED: accept the inline completion' })
end

return M
