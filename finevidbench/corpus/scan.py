"""What a folder of videos holds: the videos a build takes, and every other media file, with the reason it is not taken.

The rule (docs/real_footage.md): a file whose suffix is a video extension (`VIDEO_EXTENSIONS`) is a
candidate; curation, or the build, then says whether it decodes. Any other file is *skipped* and
reported, by name and reason, when it is media the build does not take: its suffix names a media
format (a GIF, an image, another video container, audio), or its first bytes are those of one (a
video saved without its extension). Hidden files and folders (a name starting with '.') and
everything else (labels, splits, notes) are ignored without a word. A video-named link to a missing
file is skipped as unreadable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from finevidbench.video import VIDEO_EXTENSIONS

KINDS = {
    "gif": "a GIF: animated images are not taken as videos",
    "image": "a still image",
    "other_video": "a video container the builder does not take",
    "unnamed_video": "a video without a video extension",
    "audio": "an audio file",
}
IMAGES = (".png", ".apng", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".avif")
OTHER_VIDEOS = (
    ".mpg",
    ".mpeg",
    ".m2v",
    ".ts",
    ".mts",
    ".m2ts",
    ".3gp",
    ".3g2",
    ".flv",
    ".f4v",
    ".wmv",
    ".asf",
    ".ogv",
    ".vob",
    ".rm",
    ".rmvb",
    ".mxf",
    ".y4m",
    ".divx",
    ".h264",
    ".hevc",
)
AUDIO = (".mp3", ".wav", ".aac", ".m4a", ".flac", ".ogg", ".opus", ".wma")
SUFFIXES = {
    ".gif": "gif",
    **dict.fromkeys(IMAGES, "image"),
    **dict.fromkeys(OTHER_VIDEOS, "other_video"),
    **dict.fromkeys(AUDIO, "audio"),
}
"""Suffixes of media formats the builder does not take (a file is also recognised by its first bytes)."""


def sniff(head: bytes) -> str | None:
    """The media kind a file's first bytes announce (None: not a media format we know)."""
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:8] == b"\x89PNG\r\n\x1a\n" or head[:3] == b"\xff\xd8\xff":
        return "image"
    if head[4:8] == b"ftyp":
        return "image" if head[8:12] in (b"heic", b"heix", b"avif", b"mif1", b"msf1") else "video"
    if head[:4] == b"RIFF":
        return {b"AVI ": "video", b"WEBP": "image", b"WAVE": "audio"}.get(head[8:12])
    video_magic = (
        b"\x1aE\xdf\xa3",
        b"OggS",
        b"FLV\x01",
        b"\x00\x00\x01\xba",
        b"\x00\x00\x01\xb3",
        b"YUV4MPEG2",
        b"\x30\x26\xb2\x75\x8e\x66\xcf\x11",
    )
    if any(head.startswith(magic) for magic in video_magic):
        return "video"
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:  # MPEG-TS: a sync byte every 188
        return "video"
    if head[:3] == b"ID3":
        return "audio"
    return None


@dataclass
class Scan:
    """A folder's candidate videos, sorted, and the media files it skips."""

    videos: list[Path]
    skipped: list[dict[str, str]] = field(default_factory=list)
    """{"file" (relative to the folder), "reason", "detail"} per skipped file, in path order."""

    def summary(self) -> str:
        """'3 other file(s) skipped (2 gif, 1 unreadable)', or '' when none is."""
        return skipped_summary(self.skipped)


def skipped_summary(skipped: Sequence[dict[str, str]]) -> str:
    """'3 other file(s) skipped (2 gif, 1 unreadable)' for skip records, or '' when there are none."""
    if not skipped:
        return ""
    reasons = ", ".join(f"{n} {r.replace('_', '-')}" for r, n in sorted(Counter(s["reason"] for s in skipped).items()))
    return f"{len(skipped)} other file(s) skipped ({reasons})"


def _skip(path: Path, folder: Path) -> dict[str, str] | None:
    """The skip record of a file that is not a candidate video, or None when it is not media at all."""
    relative = path.relative_to(folder).as_posix()
    named = SUFFIXES.get(path.suffix.lower())
    if not path.is_file():  # a link to nothing, or to no regular file: never opened
        if named is None and path.suffix.lower() not in VIDEO_EXTENSIONS:
            return None
        return {"file": relative, "reason": "unreadable", "detail": "a link to a missing file (fix: restore it)"}
    try:
        with path.open("rb") as handle:
            found = sniff(handle.read(512))
    except OSError as exc:
        if named is None:
            return None
        return {"file": relative, "reason": "unreadable", "detail": f"{type(exc).__name__}: {exc.strerror or exc}"}
    # a container under a video-format name, or a video under another name
    kind = ("other_video" if named == "other_video" else "unnamed_video") if found == "video" else found or named
    if kind is None:
        return None
    convert = f"convert it to .mp4, e.g. `ffmpeg -i {path.name} {path.stem}.mp4`"
    fix = {
        "unnamed_video": f"rename it with its format's extension, e.g. {path.stem}.mp4",
        "image": "move it out of the videos folder",
        "audio": "move it out of the videos folder",
    }.get(kind, convert)
    return {"file": relative, "reason": kind, "detail": f"{KINDS[kind]} (fix: {fix})"}


def _hidden(path: Path, folder: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(folder).parts)


def scan_folder(folder: Path) -> Scan:
    """The candidate videos under `folder` and the media files skipped; ids (stems) must be unique."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder of videos (fix: pass --videos DIR)")
    videos, skipped = [], []
    for path in sorted(folder.rglob("*")):
        if _hidden(path, folder) or path.is_dir():
            continue
        if path.suffix.lower() in VIDEO_EXTENSIONS and path.is_file():
            videos.append(path)
        elif path.is_file() or path.is_symlink():
            record = _skip(path, folder)
            if record is not None:
                skipped.append(record)
    scan = Scan(videos, skipped)
    if not videos:
        shown = "; ".join(f"{s['file']}: {s['detail']}" for s in skipped[:3])
        raise FileNotFoundError(
            f"{folder}: no video files ({', '.join(VIDEO_EXTENSIONS)}){'; skipped ' + shown if shown else ''}"
        )
    clashes = sorted(stem for stem, n in Counter(p.stem for p in videos).items() if n > 1)
    if clashes:
        raise ValueError(f"{folder}: several files share the id(s) {clashes[:5]}; video ids are file stems")
    return scan
