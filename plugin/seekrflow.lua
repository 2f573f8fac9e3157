-- seekrflow: SeekrFlow data jobs in Neovim. Defines the commands and
-- :checkhealth seekrflow without any setup() call; loads no C and does no
-- I/O here (the first command makes the client). See :help seekrflow.
if vim.g.loaded_seekrflow then return end
vim.g.loaded_seekrflow = true
require("seekrflow.nvim.commands").define()
