"""Questions read aloud: staff's recordings of a questionnaire version, checked, re-encoded
small, stored, and found for a site.

A recording belongs to a questionnaire version, a region and a key (a question's key, or
``thanks`` for the thank-you text). County staff record in their dialect (温州话 is beyond
any speech synthesiser) for their county's sites; the owning city's recording is played at
every site of a county that has none.

Uploads are decoded and encoded afresh with PyAV (FFmpeg's libraries in the wheel, no
system FFmpeg to install): AAC-LC in MP4, mono, 24 kHz, 48 kbit/s. AAC in MP4 plays in
WeChat on iOS and Android alike (Opus does not play on older iOS), and a question read in
10 s is then about 60 KB, small enough to keep in the database beside the questionnaire.
"""

import io
import itertools
import os
import tempfile
from dataclasses import dataclass

import av
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.accounts.services import Actor, record
from survey.questionnaires.models import SATISFACTION_LEVELS, QuestionnaireVersion
from survey.regions.models import Region
from survey.responses.models import Recording

#: The key of the thank-you text's recording (question keys are ``overall``, ``q<n>``, …).
THANKS_KEY = "thanks"
CONTENT_TYPE = "audio/mp4"
#: What is stored: 48 kbit/s mono AAC is clear for speech and under the 64 kbit/s asked for.
SAMPLE_RATE = 24_000
BIT_RATE = 48_000
#: Shorter than this is a tap on 录音 and nothing said.
MIN_SECONDS = 0.5
#: The containers read (FFmpeg's demuxer names): what phones, browsers' MediaRecorder
#: (WebM, MP4) and sound editors save. Anything else (an image, a video format FFmpeg also
#: reads) is refused before decoding, which keeps the decoders reached small.
_CONTAINERS = {
    "mov,mp4,m4a,3gp,3g2,mj2",
    "matroska,webm",
    "ogg",
    "wav",
    "mp3",
    "aac",
    "flac",
    "amr",
}
NOT_AUDIO = "无法识别这个文件，请上传录音文件（如 m4a、mp3、wav、amr）或直接点“录音”。"


class BadRecording(ValueError):
    """Not a recording we accept; the message says why (in Chinese)."""


@dataclass
class CleanRecording:
    data: bytes
    duration_ms: int


def _encode(frames, max_seconds: float) -> CleanRecording:
    """``frames`` (decoded audio) as mono AAC in MP4; raises BadRecording past
    ``max_seconds``. MP4 is written to a temporary file: its index goes to the front
    (``faststart``, so a phone plays while loading), which FFmpeg does by re-reading a file."""
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=SAMPLE_RATE)
    samples = 0
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "out.m4a")
        with av.open(path, "w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = out.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
            stream.bit_rate = BIT_RATE
            # Frame by frame, so a file hours long is refused at the limit, not decoded whole.
            for frame in itertools.chain(frames, [None]):  # None flushes the resampler
                for mono in resampler.resample(frame):
                    samples += mono.samples
                    if samples > max_seconds * SAMPLE_RATE:
                        raise BadRecording(f"录音太长了，请控制在 {max_seconds:g} 秒以内。")
                    out.mux(stream.encode(mono))
            out.mux(stream.encode(None))
        if samples < MIN_SECONDS * SAMPLE_RATE:
            raise BadRecording("录音太短或是空的，请重新录一遍。")
        with open(path, "rb") as written:
            return CleanRecording(written.read(), samples * 1000 // SAMPLE_RATE)


def clean_recording(data: bytes, max_seconds: float) -> CleanRecording:
    """``data`` (an uploaded audio file) decoded and re-encoded: AAC in MP4, mono, at most
    64 kbit/s. Raises BadRecording when it is empty, not audio, unreadable, or longer than
    ``max_seconds``."""
    if not data:
        raise BadRecording("没有收到录音文件，请重新选择或重新录音。")
    try:
        with av.open(io.BytesIO(data), "r") as source:
            if source.format.name not in _CONTAINERS or not source.streams.audio:
                raise BadRecording(NOT_AUDIO)
            return _encode(source.decode(source.streams.audio[0]), max_seconds)
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as err:
        if isinstance(err, BadRecording):
            raise
        raise BadRecording(NOT_AUDIO) from None


#: What the thank-you page says (templates/responses/thanks.html), for staff to read out.
THANKS_TEXT = "谢谢您的评价！您的意见已收到，会转给相关部门改进服务。"


@dataclass
class RecordingRow:
    """One line of the recordings page: what to read, and its recording if there is one."""

    key: str
    label: str
    text: str
    recording: Recording | None

    @property
    def seconds(self) -> str:
        return f"{self.recording.duration_ms / 1000:.1f}" if self.recording else ""


def rows(version: QuestionnaireVersion, found: dict) -> list[RecordingRow]:
    """The recordings page's lines: each question with its options, then the thank-you
    text; ``found`` is the region's recordings by key."""
    lines = []
    for number, question in enumerate(version.questions, 1):
        options = (
            list(SATISFACTION_LEVELS.values())
            if question.kind == "satisfaction"
            else question.options or []
        )
        text = question.prompt + (f"（{'、'.join(options)}）" if options else "")
        lines.append(RecordingRow(question.key, f"第{number}题", text, found.get(question.key)))
    lines.append(RecordingRow(THANKS_KEY, "感谢语", THANKS_TEXT, found.get(THANKS_KEY)))
    return lines


def label(version: QuestionnaireVersion, key: str) -> str:
    """What a recording reads, as staff call it: 「第2题」 or 「感谢语」."""
    if key == THANKS_KEY:
        return "感谢语"
    numbers = {q.key: i for i, q in enumerate(version.questions, 1)}
    return f"第{numbers[key]}题"


def keys(version: QuestionnaireVersion) -> list[str]:
    """The keys a version's recordings may have: its questions', then the thank-you text's."""
    return [*(q.key for q in version.questions), THANKS_KEY]


def of_region(session: Session, version: QuestionnaireVersion, region: Region) -> dict:
    """The region's recordings of ``version``, by key."""
    query = select(Recording).where(
        Recording.version_id == version.id, Recording.region_id == region.id
    )
    return {found.key: found for found in session.scalars(query)}


def save_recording(
    session: Session,
    version: QuestionnaireVersion,
    region: Region,
    key: str,
    clean: CleanRecording,
    actor: Actor,
) -> Recording:
    """Store ``clean`` as the region's recording of ``key`` in ``version``, replacing the one
    before (a new row, so a new URL: the old one may sit in phones' caches), and log it.
    ``key`` must be one of ``keys(version)``. Never commits."""
    old = of_region(session, version, region).get(key)
    if old is not None:
        session.delete(old)
        session.flush()  # the unique (version, region, key) is free before the insert
    recording = Recording(
        version_id=version.id,
        region_id=region.id,
        key=key,
        data=clean.data,
        duration_ms=clean.duration_ms,
        created_by_id=actor.user.id,
    )
    session.add(recording)
    record(
        session,
        "recording_saved",
        actor,
        f"朗读录音：{region.name}，问卷第{version.number}版{label(version, key)}，"
        f"{clean.duration_ms / 1000:.1f} 秒{'（替换原录音）' if old else ''}",
    )
    session.flush()
    return recording


def delete_recording(session: Session, recording: Recording, region: Region, actor: Actor):
    """Delete a recording (its region ``region``) and log it. Never commits."""
    version = recording.version
    record(
        session,
        "recording_deleted",
        actor,
        f"朗读录音：{region.name}，问卷第{version.number}版{label(version, recording.key)}",
    )
    session.delete(recording)


def _wording(question) -> tuple:
    return question.kind, question.prompt, question.options or []


def carry_over(session: Session, old: QuestionnaireVersion, new: QuestionnaireVersion) -> int:
    """Copy ``old``'s recordings (every region's) to ``new`` where they still read right:
    the thank-you text's, and each question's whose key, wording and options are unchanged,
    so one changed question does not silence the rest. Returns how many. Never commits."""
    before = {q.key: _wording(q) for q in old.questions}
    kept = {q.key for q in new.questions if before.get(q.key) == _wording(q)} | {THANKS_KEY}
    query = select(Recording).where(Recording.version_id == old.id, Recording.key.in_(kept))
    copies = [
        Recording(
            version_id=new.id,
            region_id=found.region_id,
            key=found.key,
            data=found.data,
            duration_ms=found.duration_ms,
            created_by_id=found.created_by_id,
        )
        for found in session.scalars(query)
    ]
    session.add_all(copies)
    return len(copies)


def for_site(session: Session, version_id: int, county_id: int, city_id: int) -> dict[str, int]:
    """The recordings a site plays, as ids by key: its county's, else its city's. Reads
    neither the audio nor anything else the form does not need."""
    query = select(Recording.key, Recording.region_id, Recording.id).where(
        Recording.version_id == version_id, Recording.region_id.in_((county_id, city_id))
    )
    found: dict[str, int] = {}
    for key, region_id, recording_id in session.execute(query):
        if region_id == county_id or key not in found:
            found[key] = recording_id
    return found
