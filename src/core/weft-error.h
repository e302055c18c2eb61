/* weft-error.h: the Weft error domain, with codes a UI can turn into a sentence. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define WEFT_ERROR (weft_error_quark ())

typedef enum
{
  WEFT_ERROR_FAILED,             /* anything not listed below */
  WEFT_ERROR_NOT_FOUND,          /* ENOENT, ENOTDIR */
  WEFT_ERROR_PERMISSION_DENIED,  /* EACCES, EPERM */
  WEFT_ERROR_IS_DIRECTORY,
  WEFT_ERROR_NOT_REGULAR_FILE,   /* FIFO, socket, device */
  WEFT_ERROR_INVALID_UTF8,
  WEFT_ERROR_BINARY,             /* NUL bytes: not a text file */
  WEFT_ERROR_NO_SPACE,           /* ENOSPC, EDQUOT, EFBIG */
  WEFT_ERROR_READ_ONLY_FS,       /* EROFS */
  WEFT_ERROR_IO,                 /* EIO and other device failures */
  WEFT_ERROR_TOO_LARGE,          /* does not fit in memory / size_t */
  WEFT_ERROR_CANCELLED,          /* a background job was cancelled before it finished */
  WEFT_ERROR_WORKER_CRASHED,     /* a job's worker process died, twice */
} WeftErrorCode;

GQuark        weft_error_quark      (void);
WeftErrorCode weft_error_from_errno (int errsv);
const char   *weft_error_describe_errno (int errsv);

G_END_DECLS
