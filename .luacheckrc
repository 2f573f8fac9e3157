std = "max"
max_line_length = 120
-- LuaCATS signatures are long and cannot be wrapped
max_comment_line_length = 160
files["spec"] = { std = "max+busted" }
exclude_files = { "build" }
-- Neovim's API, only where Neovim runs the code
files["lua/seekrflow/nvim"] = { read_globals = { "vim" } }
files["lua/seekrflow/health.lua"] = { read_globals = { "vim" } }
files["spec/nvim"] = { std = "max", read_globals = { "vim" } }
files["plugin"] = { globals = { "vim" } } -- vim.g: the loaded guard
