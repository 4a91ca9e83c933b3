"""Call recording: the policy (who is recorded, where it was paused), ccapp's store of finished
files, and retention. Asterisk does the recording itself (MixMonitor started over AMI by
`ccapp.telephony.ami.recorder.AmiCallRecorder`); see docs/recording.md."""

from ccapp.recording.policy import PausedReport, PausedSpans, Policy, should_record
from ccapp.recording.store import RecordingMissing, RecordingStore, StoredRecordings

__all__ = [
    "PausedReport",
    "PausedSpans",
    "Policy",
    "RecordingMissing",
    "RecordingStore",
    "StoredRecordings",
    "should_record",
]
