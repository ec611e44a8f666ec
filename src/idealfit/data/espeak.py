"""eSpeak NG through ctypes: text -> 16-bit mono samples, with a chosen voice, rate and pitch.

The library and its voice data come from the `espeakng-loader` wheel (no system install, no download):
`get_library_path()` is libespeak-ng.so, `get_data_path()` its espeak-ng-data folder. The calls are those
of eSpeak NG's speak_lib.h (API revision 12):

    int espeak_Initialize(espeak_AUDIO_OUTPUT output, int buflength, const char *path, int options)
        AUDIO_OUTPUT_SYNCHRONOUS (2): espeak_Synth returns when the text is spoken, having handed every
        block of samples to the synth callback; returns the sample rate (22050 Hz), or -1.
    void espeak_SetSynthCallback(int (*cb)(short *wav, int numsamples, espeak_EVENT *events))
        the callback returns 0 to continue; wav is NULL at the end.
    espeak_ERROR espeak_SetVoiceByName(const char *name)      e.g. "en-us+f3": language voice + variant
    espeak_ERROR espeak_SetParameter(espeak_PARAMETER p, int value, int relative)
        espeakRATE (1): words per minute, 80..450; espeakPITCH (3): base pitch 0..100 (50 normal)
    espeak_ERROR espeak_Synth(const void *text, size_t size, unsigned int position,
        espeak_POSITION_TYPE position_type, unsigned int end_position, unsigned int flags,
        unsigned int *unique_identifier, void *user_data)

The library holds one global state, so one `Speaker` per process (this module keeps it).
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

from idealfit.errors import UserError

AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_RATE, ESPEAK_PITCH = 1, 3
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1
EE_OK = 0

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class Speaker:
    """eSpeak NG loaded from the espeakng-loader wheel; `say` returns the samples of one text.

    Example:
        >>> wave = Speaker().say("seven", voice="en-us+m3", rate=160, pitch=50)  # int16 at Speaker().sample_rate
    """

    def __init__(self):
        try:
            import espeakng_loader
        except ImportError:
            raise UserError("the spoken_digits dataset is synthesized with eSpeak NG: "
                            "pip install espeakng-loader (or pip install 'idealfit[speech]')") from None
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed ({rate}) with data at {espeakng_loader.get_data_path()}")
        self.lib, self.sample_rate = lib, int(rate)
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # kept referenced: the library calls it later
        lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, numsamples: int, events) -> int:
        if wav and numsamples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
        return 0

    def say(self, text: str, *, voice: str, rate: int = 175, pitch: int = 50) -> np.ndarray:
        """(L,) int16 samples at `sample_rate` of `text` spoken by `voice` at `rate` words/minute and `pitch`."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
            raise ValueError(f"eSpeak NG has no voice {voice!r}")
        self.lib.espeak_SetParameter(ESPEAK_RATE, int(rate), 0)
        self.lib.espeak_SetParameter(ESPEAK_PITCH, int(pitch), 0)
        self._chunks = []
        data = text.encode() + b"\0"
        err = self.lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None)
        if err != EE_OK:
            raise RuntimeError(f"espeak_Synth failed ({err}) on {text!r} with voice {voice!r}")
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)


_LOCK = threading.Lock()
_SPEAKER: Speaker | None = None


def speaker() -> Speaker:
    """The process's one Speaker (eSpeak NG keeps global state)."""
    global _SPEAKER
    with _LOCK:
        if _SPEAKER is None:
            _SPEAKER = Speaker()
        return _SPEAKER
