"""kombu's filesystem transport, made safe for several processes (the embedded default's broker).

kombu's own transport (5.x) has two races between processes sharing the folder:

- a producer creates the message file under its final name and then writes it, so a consumer
  listing the folder meanwhile reads a half-written (or empty) file: the worker dies on a
  ``JSONDecodeError`` and the message is lost;
- a consumer claims a file by moving it to the system's temporary directory, which is usually
  another file system: the move is then a copy and a delete, so two consumers can both take
  the same file, and one can read the copy the other is still writing.

Here a producer writes under a name no consumer looks at and renames it into place when it is
complete (``rename`` is atomic within a directory), and a consumer claims a file by renaming it
into the broker's own ``processed`` folder under a name of its own: of several consumers exactly
one rename succeeds, and the file it gets is whole.
"""

import contextlib
import os
import uuid
from functools import cached_property
from queue import Empty
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

# A file being written; its name never ends in ``.<queue>.msg``, so no consumer takes it.
PARTIAL_SUFFIX = ".partial"


class Channel(filesystem.Channel):
    @cached_property
    def _claim_folder(self):
        # Without it every claim would fail and the queue would look empty forever.
        os.makedirs(self.processed_folder, exist_ok=True)
        return self.processed_folder

    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + PARTIAL_SUFFIX
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.rename(partial, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue):
        wanted = f"{queue}.msg"
        processed = self._claim_folder
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            # The claim: one rename wins, the others find the file gone.
            claimed = os.path.join(processed, f"{name}.{uuid.uuid4().hex}.claimed")
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except OSError:
                continue
            try:
                with open(claimed, "rb") as f:
                    payload = f.read()
            except OSError as exc:
                raise ChannelError(f"Cannot read file {claimed!r} from queue.") from exc
            if not self.store_processed:
                os.unlink(claimed)
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
