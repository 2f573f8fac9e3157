--- `require "seekrflow.data_jobs"`: the data-jobs methods, registered by the
--- C core when it loads. This file only makes sure the core is loaded first.
require("seekrflow.loader").core()
return package.loaded["seekrflow.data_jobs"]
