/* weft-ipc.c: encoding and bounds-checked decoding of parent/worker messages. */
#include "config.h"

#include <string.h>

#include "weft-error.h"
#include "weft-ipc.h"
#include "weft-job.h"

/* The largest error code a worker may report; codes about the pool itself
 * (cancelled, crashed) are the parent's to give. */
#define MAX_WORKER_ERROR_CODE WEFT_ERROR_TOO_LARGE

static void
put_u16 (GByteArray *out,
         guint16     v)
{
  v = GUINT16_TO_LE (v);
  g_byte_array_append (out, (const guint8 *) &v, sizeof v);
}

static void
put_u32 (GByteArray *out,
         guint32     v)
{
  v = GUINT32_TO_LE (v);
  g_byte_array_append (out, (const guint8 *) &v, sizeof v);
}

static void
put_u64 (GByteArray *out,
         guint64     v)
{
  v = GUINT64_TO_LE (v);
  g_byte_array_append (out, (const guint8 *) &v, sizeof v);
}

static guint
begin_message (GByteArray  *out,
               WeftIpcType  type)
{
  guint start = out->len;

  put_u32 (out, WEFT_IPC_MAGIC);
  put_u16 (out, type);
  put_u16 (out, 0);
  put_u32 (out, 0);  /* patched by end_message() */
  return start;
}

static void
end_message (GByteArray *out,
             guint       start)
{
  guint32 payload_len = GUINT32_TO_LE (out->len - start - WEFT_IPC_HEADER_SIZE);

  memcpy (out->data + start + 8, &payload_len, sizeof payload_len);
}

void
weft_ipc_encode_hello (GByteArray         *out,
                       WeftIpcType         type,
                       const WeftIpcHello *hello)
{
  guint start = begin_message (out, type);

  put_u32 (out, hello->version);
  end_message (out, start);
}

guint32
weft_ipc_cut_input (guint64  len,
                    guint32  max_pieces,
                    guint64  page_size,
                    guint64 *piece_len)
{
  guint64 even;

  g_return_val_if_fail (len > 0 && page_size > 0, 0);
  g_return_val_if_fail (max_pieces >= 1 && max_pieces <= WEFT_IPC_MAX_INPUT_PIECES, 0);

  /* An even share rounded up to whole pages: never more pieces than
   * asked for, and fewer when the pages do not go round (the last one is
   * then shorter, never empty). */
  even = len / max_pieces + (len % max_pieces != 0);
  *piece_len = (even / page_size + (even % page_size != 0)) * page_size;
  if (*piece_len >= len)
    {
      *piece_len = len;
      return 1;
    }
  return (guint32) ((len - 1) / *piece_len + 1);
}

void
weft_ipc_encode_job (GByteArray       *out,
                     const WeftIpcJob *job)
{
  guint start = begin_message (out, WEFT_IPC_JOB);

  put_u64 (out, job->job_id);
  put_u32 (out, job->kind);
  put_u64 (out, job->input_len);
  put_u32 (out, job->n_input_fds);
  put_u64 (out, job->input_piece_len);
  put_u64 (out, job->input_serial);
  put_u64 (out, job->aux_len);
  put_u32 (out, job->options_len);
  g_byte_array_append (out, job->options, job->options_len);
  put_u32 (out, job->n_output_fds);
  end_message (out, start);
}

void
weft_ipc_encode_result (GByteArray          *out,
                        const WeftIpcResult *result)
{
  guint start = begin_message (out, WEFT_IPC_RESULT);

  put_u64 (out, result->job_id);
  put_u32 (out, result->status);
  put_u32 (out, result->error_code);
  put_u32 (out, result->message_len);
  g_byte_array_append (out, (const guint8 *) result->message, result->message_len);
  put_u32 (out, result->output_len);
  g_byte_array_append (out, result->output, result->output_len);
  put_u64 (out, result->output_fd_len);
  put_u64 (out, result->stats.run_us);
  put_u64 (out, result->stats.cpu_user_us);
  put_u64 (out, result->stats.cpu_sys_us);
  put_u64 (out, result->stats.voluntary_switches);
  put_u64 (out, result->stats.involuntary_switches);
  put_u64 (out, result->stats.maxrss_kb);
  end_message (out, start);
}

/* A cursor over untrusted bytes: every read checks what is left first. */
typedef struct
{
  const guint8 *p;
  size_t        left;
  const char   *field;  /* the field being read, for the error message */
} Reader;

static gboolean
fail (GError    **error,
      const char *what,
      const char *field)
{
  g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED,
               "Malformed worker message: %s%s%s", what,
               field != NULL ? " in " : "", field != NULL ? field : "");
  return FALSE;
}

static gboolean
get_bytes (Reader        *r,
           size_t         n,
           const guint8 **out,
           GError       **error)
{
  if (r->left < n)
    return fail (error, "truncated", r->field);
  *out = r->p;
  r->p += n;
  r->left -= n;
  return TRUE;
}

static gboolean
get_u32 (Reader     *r,
         const char *field,
         guint32    *out,
         GError    **error)
{
  const guint8 *p;

  r->field = field;
  if (!get_bytes (r, sizeof *out, &p, error))
    return FALSE;
  memcpy (out, p, sizeof *out);
  *out = GUINT32_FROM_LE (*out);
  return TRUE;
}

static gboolean
get_u64 (Reader     *r,
         const char *field,
         guint64    *out,
         GError    **error)
{
  const guint8 *p;

  r->field = field;
  if (!get_bytes (r, sizeof *out, &p, error))
    return FALSE;
  memcpy (out, p, sizeof *out);
  *out = GUINT64_FROM_LE (*out);
  return TRUE;
}

/* A length field followed by that many bytes, refused above @max. */
static gboolean
get_blob (Reader        *r,
          const char    *field,
          guint32        max,
          const guint8 **out,
          guint32       *out_len,
          GError       **error)
{
  if (!get_u32 (r, field, out_len, error))
    return FALSE;
  if (*out_len > max)
    return fail (error, "length over its limit", field);
  return get_bytes (r, *out_len, out, error);
}

static gboolean
expect_end (Reader  *r,
            GError **error)
{
  if (r->left != 0)
    return fail (error, "trailing bytes", NULL);
  return TRUE;
}

gboolean
weft_ipc_decode_header (const guint8  *buf,
                        size_t         len,
                        WeftIpcType   *out_type,
                        const guint8 **out_payload,
                        size_t        *out_payload_len,
                        GError       **error)
{
  guint16 type, flags;
  guint32 magic, payload_len;

  if (buf == NULL || len < WEFT_IPC_HEADER_SIZE)
    return fail (error, "truncated", "header");

  memcpy (&magic, buf, 4);
  memcpy (&type, buf + 4, 2);
  memcpy (&flags, buf + 6, 2);
  memcpy (&payload_len, buf + 8, 4);
  if (GUINT32_FROM_LE (magic) != WEFT_IPC_MAGIC)
    return fail (error, "bad magic", "header");
  if (GUINT16_FROM_LE (flags) != 0)
    return fail (error, "unknown flags", "header");
  type = GUINT16_FROM_LE (type);
  if (type < WEFT_IPC_INIT || type > WEFT_IPC_RESULT)
    return fail (error, "unknown type", "header");
  payload_len = GUINT32_FROM_LE (payload_len);
  if (payload_len != len - WEFT_IPC_HEADER_SIZE)
    return fail (error, "length does not match the datagram", "header");

  *out_type = type;
  *out_payload = buf + WEFT_IPC_HEADER_SIZE;
  *out_payload_len = payload_len;
  return TRUE;
}

static gboolean
open_payload (const guint8  *buf,
              size_t         len,
              WeftIpcType    expected,
              Reader        *r,
              GError       **error)
{
  WeftIpcType type;

  if (!weft_ipc_decode_header (buf, len, &type, &r->p, &r->left, error))
    return FALSE;
  if (type != expected)
    return fail (error, "unexpected message type", "header");
  r->field = NULL;
  return TRUE;
}

gboolean
weft_ipc_decode_hello (const guint8  *buf,
                       size_t         len,
                       WeftIpcType    expected,
                       WeftIpcHello  *out,
                       GError       **error)
{
  Reader r;

  g_return_val_if_fail (expected == WEFT_IPC_INIT || expected == WEFT_IPC_READY, FALSE);

  if (!open_payload (buf, len, expected, &r, error) ||
      !get_u32 (&r, "version", &out->version, error) ||
      !expect_end (&r, error))
    return FALSE;
  if (out->version != WEFT_IPC_VERSION)
    return fail (error, "unsupported protocol version", "version");
  return TRUE;
}

gboolean
weft_ipc_decode_job (const guint8  *buf,
                     size_t         len,
                     WeftIpcJob    *out,
                     GError       **error)
{
  Reader r;

  if (!open_payload (buf, len, WEFT_IPC_JOB, &r, error) ||
      !get_u64 (&r, "job id", &out->job_id, error) ||
      !get_u32 (&r, "kind", &out->kind, error) ||
      !get_u64 (&r, "input length", &out->input_len, error) ||
      !get_u32 (&r, "input descriptors", &out->n_input_fds, error) ||
      !get_u64 (&r, "input piece length", &out->input_piece_len, error) ||
      !get_u64 (&r, "input serial", &out->input_serial, error) ||
      !get_u64 (&r, "aux input length", &out->aux_len, error) ||
      !get_blob (&r, "options", WEFT_IPC_MAX_OPTIONS, &out->options, &out->options_len, error) ||
      !get_u32 (&r, "output descriptors", &out->n_output_fds, error) ||
      !expect_end (&r, error))
    return FALSE;
  if (out->job_id == 0)
    return fail (error, "zero id", "job id");
  if (!weft_job_kind_is_valid (out->kind))
    return fail (error, "unknown job kind", "kind");
  if (out->n_output_fds != (out->kind == WEFT_JOB_SAVE || weft_job_kind_has_large_output (out->kind) ? 1u : 0u))
    return fail (error, "wrong number for the job kind", "output descriptors");
  if (out->input_len > G_MAXSSIZE)
    return fail (error, "length over its limit", "input length");
  if (out->input_len == 0 ? out->n_input_fds != 0 || out->input_piece_len != 0 || out->input_serial != 0
                          : out->n_input_fds == 0 || out->input_piece_len == 0)
    return fail (error, "inconsistent with the input length", "input descriptors");
  if (out->n_input_fds > (out->kind == WEFT_JOB_SAVE ? 1u : WEFT_IPC_MAX_INPUT_PIECES))
    return fail (error, "too many for the job kind", "input descriptors");
  /* Every piece but the last is full, and the last is not empty. */
  if (out->n_input_fds > 0 &&
      (out->input_piece_len > out->input_len ||
       (out->input_len - 1) / out->input_piece_len + 1 != out->n_input_fds))
    return fail (error, "does not cut the input into that many pieces", "input piece length");
  if (out->aux_len > G_MAXSSIZE)
    return fail (error, "length over its limit", "aux input length");
  return TRUE;
}

gboolean
weft_ipc_decode_result (const guint8   *buf,
                        size_t          len,
                        WeftIpcResult  *out,
                        GError        **error)
{
  Reader r;
  guint32 status;
  const guint8 *message;

  if (!open_payload (buf, len, WEFT_IPC_RESULT, &r, error) ||
      !get_u64 (&r, "job id", &out->job_id, error) ||
      !get_u32 (&r, "status", &status, error) ||
      !get_u32 (&r, "error code", &out->error_code, error) ||
      !get_blob (&r, "error message", WEFT_IPC_MAX_ERROR_MESSAGE, &message, &out->message_len, error) ||
      !get_blob (&r, "output", WEFT_IPC_MAX_OUTPUT, &out->output, &out->output_len, error) ||
      !get_u64 (&r, "output in memfd", &out->output_fd_len, error) ||
      !get_u64 (&r, "run time", &out->stats.run_us, error) ||
      !get_u64 (&r, "user time", &out->stats.cpu_user_us, error) ||
      !get_u64 (&r, "system time", &out->stats.cpu_sys_us, error) ||
      !get_u64 (&r, "voluntary switches", &out->stats.voluntary_switches, error) ||
      !get_u64 (&r, "involuntary switches", &out->stats.involuntary_switches, error) ||
      !get_u64 (&r, "peak memory", &out->stats.maxrss_kb, error) ||
      !expect_end (&r, error))
    return FALSE;

  out->message = (const char *) message;
  switch (status)
    {
    case WEFT_IPC_STATUS_OK:
    case WEFT_IPC_STATUS_CANCELLED:
      if (out->error_code != 0 || out->message_len != 0)
        return fail (error, "error details without an error", "status");
      if (status == WEFT_IPC_STATUS_CANCELLED && (out->output_len != 0 || out->output_fd_len != 0))
        return fail (error, "output from a cancelled job", "status");
      break;
    case WEFT_IPC_STATUS_ERROR:
      if (out->error_code > MAX_WORKER_ERROR_CODE)
        return fail (error, "unknown error code", "error code");
      if (out->output_len != 0 || out->output_fd_len != 0)
        return fail (error, "output from a failed job", "status");
      break;
    default:
      return fail (error, "unknown status", "status");
    }
  out->status = status;

  if (!g_utf8_validate (out->message, out->message_len, NULL))
    return fail (error, "invalid UTF-8", "error message");

  /* Stats feed sums: a value no real job reaches would poison them. A
   * year in microseconds, or a terabyte of RSS, is far beyond any job. */
  if (out->stats.run_us > 366 * G_GUINT64_CONSTANT (86400000000) ||
      out->stats.cpu_user_us > 366 * G_GUINT64_CONSTANT (86400000000) ||
      out->stats.cpu_sys_us > 366 * G_GUINT64_CONSTANT (86400000000) ||
      out->stats.voluntary_switches > G_MAXINT32 ||
      out->stats.involuntary_switches > G_MAXINT32 ||
      out->stats.maxrss_kb > G_GUINT64_CONSTANT (1) << 30)
    return fail (error, "implausible value", "stats");

  return TRUE;
}
