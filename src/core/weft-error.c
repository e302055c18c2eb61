/* weft-error.c: mapping system errors onto the Weft error domain. */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>

#include "weft-error.h"

G_DEFINE_QUARK (weft-error-quark, weft_error)

WeftErrorCode
weft_error_from_errno (int errsv)
{
  switch (errsv)
    {
    case ENOENT:
    case ENOTDIR:
      return WEFT_ERROR_NOT_FOUND;
    case EACCES:
    case EPERM:
      return WEFT_ERROR_PERMISSION_DENIED;
    case EISDIR:
      return WEFT_ERROR_IS_DIRECTORY;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return WEFT_ERROR_NO_SPACE;
    case EROFS:
      return WEFT_ERROR_READ_ONLY_FS;
    case EIO:
    case ENXIO:
    case ENODEV:
      return WEFT_ERROR_IO;
    case ENOMEM:
    case EOVERFLOW:
      return WEFT_ERROR_TOO_LARGE;
    default:
      return WEFT_ERROR_FAILED;
    }
}

/* A short phrase for the reason, in the user's language; g_strerror's text is
 * kept for the cases we have no better words for. */
const char *
weft_error_describe_errno (int errsv)
{
  switch (errsv)
    {
    case ENOENT:
    case ENOTDIR:
      return _("the file or its folder does not exist");
    case EACCES:
    case EPERM:
      return _("permission denied");
    case EISDIR:
      return _("it is a folder");
    case ENOSPC:
    case EDQUOT:
      return _("the disk is full");
    case EFBIG:
      return _("the file is larger than the system allows");
    case EROFS:
      return _("the disk is read-only");
    case EIO:
      return _("the device reported an input/output error");
    default:
      return g_strerror (errsv);
    }
}
