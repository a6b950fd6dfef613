"""Replacing a file whole: a scratch file beside it, synced, renamed over it, the folder synced.

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

:func:`~designpatterns_ref.autocomplete.storage.write` never writes into the file it replaces:
it writes a scratch file of a random name in the same folder (:func:`_create_scratch`), gives
it the mode, owner and group of the file it will replace as far as the process may
(:func:`_keep_owner_and_mode`), syncs it, renames it over the old file in one step, and syncs
the folder (:func:`_sync_folder`), so a crash at any point leaves the old file or the new one,
never a mix, and a process that has the old file mapped goes on reading it whole. A ``path``
that is a symlink is followed, and the file it names replaced, under the rule of Linux's
``fs.protected_symlinks`` (:func:`_target`): a link another user planted in a shared folder is
replaced itself, so it cannot aim a save at a file of its choosing.

>>> import shutil, tempfile
>>> folder = tempfile.mkdtemp()
>>> fd, scratch = _create_scratch(folder)
>>> os.close(fd)
>>> os.path.basename(scratch).startswith(".dpac-")
True
>>> os.symlink(scratch, os.path.join(folder, "link"))
>>> _target(os.path.join(folder, "link")) == os.path.realpath(scratch)
True
>>> shutil.rmtree(folder)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat


def _target(path: str) -> str:
    """The file a save to ``path`` replaces: the file a symlink ``path`` names, under the rule
    of Linux's ``fs.protected_symlinks``: followed when the saver owns the link, or the folder
    holding it is not sticky and world-writable (``/tmp``), or the link's owner owns that
    folder; otherwise the link itself is replaced, so a link another user planted in a shared
    folder cannot aim a save (as root, say) at a file of its choosing. Only the link ``path``
    names is judged; the rest of the way is resolved as ``os.path.realpath`` does."""
    try:
        link = os.lstat(path)
    except OSError:
        return os.path.realpath(path)
    if stat.S_ISLNK(link.st_mode) and hasattr(os, "geteuid"):
        try:
            folder = os.stat(os.path.dirname(os.path.abspath(path)))
        except OSError:
            return path
        shared = stat.S_ISVTX | stat.S_IWOTH
        if (
            folder.st_mode & shared == shared
            and link.st_uid != os.geteuid()
            and link.st_uid != folder.st_uid
        ):
            return path
    return os.path.realpath(path)


def _create_scratch(folder: str) -> tuple[int, str]:
    """A new file of a random name in ``folder``, open for writing, with the mode the umask
    gives any new file (``tempfile.mkstemp`` makes it 0600, which would keep other users from
    mapping it; a fixed 0644 would show a private vocabulary to every user); one that replaces
    a file then takes that file's mode."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        scratch = os.path.join(folder, f".dpac-{secrets.token_hex(8)}")
        try:
            return os.open(scratch, flags, 0o666), scratch
        except FileExistsError:
            continue
    raise FileExistsError(f"no free scratch name in {folder!r}")


def _keep_owner_and_mode(fd: int, target: str) -> None:
    """Give the scratch file ``fd`` the mode of the file it will replace (a vocabulary kept
    private with ``chmod 600`` stays private), and its owner and group as far as the process
    may set them: all of them as root, the group alone as a member of it. A file whose group
    cannot be kept (a saver outside it) does not take the old group's permissions either,
    which would hand them to the saver's own group: it keeps the group bits a new file gets
    (the umask's). A new file keeps the mode the umask gives it."""
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode):
        return  # os.replace refuses a folder; anything else (a link not followed) is replaced
    mode = stat.S_IMODE(info.st_mode)
    if hasattr(os, "fchown"):
        own = os.fstat(fd)
        if (own.st_uid, own.st_gid) != (info.st_uid, info.st_gid):
            try:
                os.fchown(fd, info.st_uid, info.st_gid)
            except OSError:  # another user's file, as a user: the new one is the saver's
                with contextlib.suppress(OSError):
                    os.fchown(fd, -1, info.st_gid)  # a member may still keep the group
            own = os.fstat(fd)
        if own.st_gid != info.st_gid:
            mode = (mode & ~0o070) | (stat.S_IMODE(own.st_mode) & 0o070)
    if os.chmod in os.supports_fd:
        os.chmod(fd, mode)


def _sync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable (its entry is in the folder's own blocks); a system
    that cannot open or sync a folder (Windows, some network file systems) is left as it is."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
