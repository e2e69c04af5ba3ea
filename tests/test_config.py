"""Settings: read at call time, one home for defaults, clear errors."""
import json

import pytest

from chalicelib import config

BASE = {"IMAGES_BUCKET": "b", "IMAGES_TABLE": "t"}


def test_defaults():
    settings = config.load(BASE)
    assert settings.max_upload_bytes == 25 * config.MB
    assert settings.max_api_upload_bytes == 4 * config.MB
    assert settings.max_pixels == 50_000_000
    assert settings.upload_url_ttl == 300 and settings.view_url_ttl == 3600
    assert [(p.name, p.box, p.quality) for p in settings.presets] == [
        ("thumb", 256, 85), ("medium", 1024, 85), ("large", 2048, 85)]


def test_reads_the_environment_at_call_time(monkeypatch):
    monkeypatch.setenv("IMAGES_BUCKET", "first")
    monkeypatch.setenv("IMAGES_TABLE", "t")
    assert config.load().bucket == "first"
    monkeypatch.setenv("IMAGES_BUCKET", "second")
    assert config.load().bucket == "second"


def test_missing_and_bad_values_are_named():
    with pytest.raises(RuntimeError, match="IMAGES_BUCKET"):
        config.load({"IMAGES_TABLE": "t"})
    with pytest.raises(RuntimeError, match="MAX_PIXELS"):
        config.load({**BASE, "MAX_PIXELS": "lots"})
    with pytest.raises(RuntimeError, match="MAX_UPLOAD_BYTES"):
        config.load({**BASE, "MAX_UPLOAD_BYTES": "-1"})


def test_presets_from_json():
    presets = json.dumps([{"name": "tiny", "box": 64}, {"name": "big", "box": 4096, "quality": 90}])
    settings = config.load({**BASE, "VARIANT_PRESETS": presets})
    assert settings.preset_names == ("tiny", "big")
    assert settings.presets[1].quality == 90
    for bad in ("not json", "[]", '[{"name": "original", "box": 1}]', '[{"name": "a", "box": 1}, {"name": "a", "box": 2}]',
                '[{"nom": "a"}]'):
        with pytest.raises(RuntimeError, match="VARIANT_PRESETS"):
            config.load({**BASE, "VARIANT_PRESETS": bad})


def test_a_request_reads_the_configuration_once(client, monkeypatch):
    """The CORS middleware and the view share one Settings per request."""
    from chalicelib import config

    real, calls = config.load, []

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(config, "load", counted)
    reply = client.http.get("/images?user_id=alice", headers={"Origin": "https://a.example"})
    assert reply.status_code == 200
    assert len(calls) == 1
