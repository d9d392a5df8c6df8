// SwiftPM needs one source file per C target; the shim is header-only (see include/CEpollShim.h).
#include "CEpollShim.h"
