--- `require "seekrflow.data_jobs"`: the data-jobs methods, registered by the
--- C core when it loads. This file only makes sure the core is loaded first.
require("seekrflow.loader").core()
---@type seekrflow.DataJobs
local data_jobs = package.loaded["seekrflow.data_jobs"]
return data_jobs
