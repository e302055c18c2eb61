/* weft-ipc.h: the messages between the parent and a weft-worker, and their validating codec. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

G_BEGIN_DECLS

/* Every message is one SOCK_SEQPACKET datagram: a 12-byte header (magic,
 * type, zero flags, payload length, all little-endian) and the payload. The
 * length is checked against the datagram, then every field is read with bounds
 * checks; nothing past the declared end is trusted. Job input never travels in
 * a message: it is in a sealed memfd sent alongside with SCM_RIGHTS, except a
 * SAVE's, which streams through a pipe sent in its place. */
#define WEFT_IPC_MAGIC             0x54464557u  /* "WEFT" */
#define WEFT_IPC_VERSION           4u
#define WEFT_IPC_HEADER_SIZE       12u
#define WEFT_IPC_MAX_OPTIONS       (16u * 1024u)
#define WEFT_IPC_MAX_ERROR_MESSAGE 1024u
/* Results travel inline, except those of kinds with large outputs (see
 * weft_job_kind_has_large_output()): the parent lends such a job a sealed,
 * fixed-size memfd, and the worker writes the result at its start. */
#define WEFT_IPC_MAX_OUTPUT        (64u * 1024u)
/* A job's input may come as several memfds, filled in parallel: each
 * holds input_piece_len bytes (a multiple of the page size, so that the
 * worker can map them end to end) but the last, which holds the rest. */
#define WEFT_IPC_MAX_INPUT_PIECES  8u
#define WEFT_IPC_MAX_MESSAGE       (WEFT_IPC_HEADER_SIZE + 128u + WEFT_IPC_MAX_ERROR_MESSAGE + WEFT_IPC_MAX_OUTPUT)

typedef enum
{
  WEFT_IPC_INIT = 1,    /* parent -> worker, with the control page's memfd */
  WEFT_IPC_READY = 2,   /* worker -> parent, once it is sandboxed */
  WEFT_IPC_JOB = 3,     /* parent -> worker, with the input's memfds in order
                         * (a SAVE: the input pipe) unless empty, the aux
                         * input's memfd unless empty, then the job's output
                         * descriptors */
  WEFT_IPC_RESULT = 4,  /* worker -> parent */
} WeftIpcType;

typedef struct
{
  guint32 version;
} WeftIpcHello;

typedef struct
{
  guint64       job_id;
  guint32       kind;
  guint64       input_len;     /* bytes of the input, over all its memfds */
  guint32       n_input_fds;   /* 0 for no input, 1 for a SAVE's pipe */
  guint64       input_piece_len; /* bytes in each input memfd but the last */
  /* Names the input's memfds for the parent's lifetime (0: no input, or a
   * SAVE's): jobs sharing an input share it, so that a worker may keep the
   * input mapped from one job to the next. */
  guint64       input_serial;
  guint64       aux_len;       /* likewise for the second input (0: none) */
  const guint8 *options;       /* points into the decoded buffer */
  guint32       options_len;
  /* Descriptors the job writes to, sent after the inputs' memfds: exactly
   * one for SAVE (the temp file the parent created) and for kinds with
   * large outputs (the memfd for the result), none for other kinds. */
  guint32       n_output_fds;
} WeftIpcJob;

typedef enum
{
  WEFT_IPC_STATUS_OK = 0,
  WEFT_IPC_STATUS_ERROR = 1,
  WEFT_IPC_STATUS_CANCELLED = 2,
} WeftIpcStatus;

typedef struct
{
  guint64 run_us;
  guint64 cpu_user_us;
  guint64 cpu_sys_us;
  guint64 voluntary_switches;
  guint64 involuntary_switches;
  guint64 maxrss_kb;
} WeftIpcStats;

typedef struct
{
  guint64       job_id;
  WeftIpcStatus status;
  guint32       error_code;    /* a WeftErrorCode when status is ERROR, else 0 */
  const char   *message;       /* UTF-8, not NUL-terminated; points into the buffer */
  guint32       message_len;
  const guint8 *output;        /* points into the buffer */
  guint32       output_len;
  guint64       output_fd_len; /* bytes of the result in the output memfd, when the job has one */
  WeftIpcStats  stats;
} WeftIpcResult;

/* How an input of @len bytes (> 0) is cut into at most @max_pieces memfds
 * (1 ... WEFT_IPC_MAX_INPUT_PIECES) for a system whose pages are @page_size
 * bytes: returns the number of pieces, at most @max_pieces, and sets
 * *@piece_len, a multiple of @page_size unless there is one piece (then
 * @len). Every piece but the last is full and the last is not empty, as
 * weft_ipc_decode_job() requires. */
guint32  weft_ipc_cut_input     (guint64              len,
                                 guint32              max_pieces,
                                 guint64              page_size,
                                 guint64             *piece_len);

/* Encoders append one whole message to @out. */
void     weft_ipc_encode_hello  (GByteArray          *out,
                                 WeftIpcType          type,
                                 const WeftIpcHello  *hello);
void     weft_ipc_encode_job    (GByteArray          *out,
                                 const WeftIpcJob    *job);
void     weft_ipc_encode_result (GByteArray          *out,
                                 const WeftIpcResult *result);

/* Checks the header of the datagram @buf[@len] and returns its type and
 * payload. Fails (WEFT_ERROR_FAILED, with what was wrong) on a short buffer,
 * bad magic, non-zero flags, an unknown type or a length that does not match. */
gboolean weft_ipc_decode_header (const guint8        *buf,
                                 size_t               len,
                                 WeftIpcType         *out_type,
                                 const guint8       **out_payload,
                                 size_t              *out_payload_len,
                                 GError             **error);

/* Each decoder takes a whole datagram, checks its header and type, and fills
 * @out with pointers into @buf. Any short field, over-long length, unknown
 * kind, status or error code, invalid UTF-8 or trailing byte fails. */
gboolean weft_ipc_decode_hello  (const guint8        *buf,
                                 size_t               len,
                                 WeftIpcType          expected,
                                 WeftIpcHello        *out,
                                 GError             **error);
gboolean weft_ipc_decode_job    (const guint8        *buf,
                                 size_t               len,
                                 WeftIpcJob          *out,
                                 GError             **error);
gboolean weft_ipc_decode_result (const guint8        *buf,
                                 size_t               len,
                                 WeftIpcResult       *out,
                                 GError             **error);

G_END_DECLS
