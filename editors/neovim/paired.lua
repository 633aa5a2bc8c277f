-- PAIRED for Neovim 0.7 and later: one `paired lsp` client per project root
-- (the folder holding `.paired/` or `.git/`), shared by that project's buffers.
-- Every client talks to the same PAIRED daemon. Neovim 0.11+ users may prefer
-- the shorter `vim.lsp.config` form in docs/editors.md.
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
  pattern = { 'rust', 'python', 'go', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'java', 'html', 'c', 'cpp', 'cs', 'ruby', 'php', 'kotlin', 'swift', 'sh', 'bash' },
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
