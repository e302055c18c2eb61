/* weft-hostile-worker.c: a stand-in for weft-worker that breaks the protocol in the way $WEFT_HOSTILE_MODE names. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "weft-ipc.h"

#define SOCK 3

static void
send_bytes (const void *data,
            size_t      len,
            int         fd)
{
  struct iovec iov = { (void *) data, len };
  union {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = { 0 };

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd >= 0)
    {
      struct cmsghdr *cmsg;

      memset (&control, 0, sizeof control);
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;
      cmsg = CMSG_FIRSTHDR (&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (cmsg), &fd, sizeof fd);
    }
  if (sendmsg (SOCK, &msg, MSG_NOSIGNAL) < 0)
    _exit (0);
}

/* Receives a message, dropping any descriptors; exits when the parent hangs up. */
static size_t
receive (guint8 *buf,
         size_t  size)
{
  ssize_t n = recv (SOCK, buf, size, 0);

  if (n <= 0)
    _exit (0);
  return n;
}

int
main (void)
{
  const char *mode = g_getenv ("WEFT_HOSTILE_MODE");
  g_autoptr(GByteArray) msg = g_byte_array_new ();
  guint8 *buf = g_malloc (WEFT_IPC_MAX_MESSAGE + 1);
  WeftIpcHello hello = { WEFT_IPC_VERSION };

  if (mode == NULL)
    mode = "garbage";

  receive (buf, WEFT_IPC_MAX_MESSAGE + 1);
  if (strcmp (mode, "bad-ready") == 0)
    {
      /* Answers the handshake with the wrong message. */
      weft_ipc_encode_hello (msg, WEFT_IPC_INIT, &hello);
      send_bytes (msg->data, msg->len, -1);
      for (;;)
        receive (buf, WEFT_IPC_MAX_MESSAGE + 1);
    }
  weft_ipc_encode_hello (msg, WEFT_IPC_READY, &hello);
  send_bytes (msg->data, msg->len, -1);

  for (;;)
    {
      size_t len = receive (buf, WEFT_IPC_MAX_MESSAGE + 1);
      WeftIpcJob job = { 0 };
      WeftIpcResult result = { 0 };
      guint32 huge_len = GUINT32_TO_LE (0x7fffffffu);

      if (!weft_ipc_decode_job (buf, len, &job, NULL))
        _exit (3);

      g_byte_array_set_size (msg, 0);
      result.job_id = job.job_id;
      result.status = WEFT_IPC_STATUS_OK;
      result.output = (const guint8 *) "12345678";
      result.output_len = 8;
      if (strcmp (mode, "wrong-id") == 0)
        result.job_id++;
      weft_ipc_encode_result (msg, &result);

      if (strcmp (mode, "garbage") == 0)
        {
          for (guint i = 0; i < msg->len; i++)
            msg->data[i] = (guint8) (i * 37 + 11);
          send_bytes (msg->data, msg->len, -1);
        }
      else if (strcmp (mode, "bad-length") == 0)
        {
          /* The output length field follows the id, status, code and an
           * empty message's length. */
          memcpy (msg->data + WEFT_IPC_HEADER_SIZE + 20, &huge_len, sizeof huge_len);
          send_bytes (msg->data, msg->len, -1);
        }
      else if (strcmp (mode, "with-fd") == 0)
        send_bytes (msg->data, msg->len, SOCK);
      else if (strcmp (mode, "too-long") == 0)
        {
          g_byte_array_set_size (msg, WEFT_IPC_MAX_MESSAGE + 100);
          send_bytes (msg->data, msg->len, -1);
        }
      else if (strcmp (mode, "exit") == 0)
        _exit (0);
      else
        send_bytes (msg->data, msg->len, -1);
    }
}
