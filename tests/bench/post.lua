-- wrk script: POST the DER OCSP request named by $MFD_REQ to the URL given.
local f = assert(io.open(os.getenv("MFD_REQ"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "application/ocsp-request"
