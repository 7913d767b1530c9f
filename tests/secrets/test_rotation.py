from __future__ import annotations

import base64
import stat
from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from apps.secrets import crypto
from apps.secrets.models import Secret
from apps.secrets.rotation import REENCRYPT_REASON, env_file_keys, env_file_write_keys
from apps.secrets.services import secret_create, secret_reveal
from tests.secrets.owners import clear_value
from tradeops.checks import field_encryption_key_problems

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_key(settings) -> str:
    # The `settings` fixture restores FIELD_ENCRYPTION_KEY, which the command changes in-process.
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    return settings.FIELD_ENCRYPTION_KEY[0]


@pytest.fixture
def env_file(tmp_path: Path, old_key: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(f"# keep me\nDJANGO_SECRET_KEY=unrelated\nFIELD_ENCRYPTION_KEY={old_key}\nLOG_LEVEL=INFO\n")
    path.chmod(0o644)
    return path


@pytest.fixture
def stored(old_key: str) -> dict[int, str]:
    """Secret id -> clear value, all sealed with old_key."""
    values = [clear_value() for _ in range(3)]
    return {secret_create(label=f"s{n}", value=value).pk: value for n, value in enumerate(values)}


def tokens() -> dict[int, str]:
    return dict(Secret.objects.values_list("pk", "ciphertext"))


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_encryption_key", *args, stdout=out)
    return out.getvalue()


def assert_all_reveal(stored: dict[int, str]) -> None:
    for pk, value in stored.items():
        assert secret_reveal(secret=Secret.objects.get(pk=pk), purpose="test") == value


def test_rotation_then_drop_old(settings, env_file: Path, old_key: str, stored: dict[int, str]) -> None:
    new_key = Fernet.generate_key().decode()
    before = tokens()
    fingerprints = dict(Secret.objects.values_list("pk", "fingerprint"))
    updated = dict(Secret.objects.values_list("pk", "updated_at"))

    output = rotate(f"--new-key={new_key}", "--env-file", str(env_file))

    after = tokens()
    assert all(after[pk] != before[pk] for pk in stored)
    assert all(crypto.opens_with(token, [new_key]) for token in after.values())
    assert not any(crypto.opens_with(token, [old_key]) for token in after.values())
    assert_all_reveal(stored)
    assert dict(Secret.objects.values_list("pk", "fingerprint")) == fingerprints
    assert dict(Secret.objects.values_list("pk", "updated_at")) == updated, "the values did not change"
    assert Secret.history.filter(history_change_reason=REENCRYPT_REASON).count() == len(stored)
    assert list(settings.FIELD_ENCRYPTION_KEY) == [new_key, old_key]
    assert env_file_keys(env_file) == [new_key, old_key]
    text = env_file.read_text()
    assert "# keep me\nDJANGO_SECRET_KEY=unrelated\n" in text and "LOG_LEVEL=INFO\n" in text
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert "Re-encrypted 3 secrets" in output and "Restart every web (daphne) and worker (qcluster)" in output
    assert "--drop-old" in output
    assert new_key not in output and old_key not in output

    output = rotate("--drop-old", "--env-file", str(env_file))

    assert env_file_keys(env_file) == [new_key]
    assert list(settings.FIELD_ENCRYPTION_KEY) == [new_key]
    assert "removed 1 old key" in output
    assert_all_reveal(stored)


def test_a_generated_key_is_strong_and_new(env_file: Path, old_key: str, stored: dict[int, str]) -> None:
    rotate("--env-file", str(env_file))
    new_key, listed_old = env_file_keys(env_file)
    assert listed_old == old_key and new_key != old_key
    assert field_encryption_key_problems([new_key]) == []
    assert all(crypto.opens_with(token, [new_key]) for token in tokens().values())


def test_a_failure_midway_rolls_back_and_every_secret_stays_readable(
    monkeypatch, settings, env_file: Path, old_key: str, stored: dict[int, str]
) -> None:
    new_key = Fernet.generate_key().decode()
    before = tokens()
    real_reencrypt = crypto.reencrypt
    calls = []

    def fail_on_second_row(token: str) -> str:
        calls.append(token)
        if len(calls) == 2:
            raise OSError("disk went away")
        return real_reencrypt(token)

    monkeypatch.setattr(crypto, "reencrypt", fail_on_second_row)
    with pytest.raises(CommandError, match="rolled back") as raised:
        rotate(f"--new-key={new_key}", "--env-file", str(env_file))
    assert "OSError: disk went away" in str(raised.value) and "--reencrypt-only" in str(raised.value)

    assert tokens() == before, "the first row was written, then rolled back with the rest"
    assert not Secret.history.filter(history_change_reason=REENCRYPT_REASON).exists()
    # The file already lists NEW,OLD: restarted processes and not-yet-restarted ones (OLD only)
    # can both read every row.
    assert env_file_keys(env_file) == settings.FIELD_ENCRYPTION_KEY == [new_key, old_key]
    assert_all_reveal(stored)
    assert all(crypto.opens_with(token, [old_key]) for token in tokens().values())

    monkeypatch.setattr(crypto, "reencrypt", real_reencrypt)
    rotate("--reencrypt-only")
    assert all(crypto.opens_with(token, [new_key]) for token in tokens().values())
    rotate("--drop-old", "--env-file", str(env_file))
    assert env_file_keys(env_file) == [new_key]
    assert_all_reveal(stored)


def test_rows_the_new_key_cannot_open_are_never_committed(
    monkeypatch, env_file: Path, old_key: str, stored: dict[int, str]
) -> None:
    before = tokens()
    monkeypatch.setattr(crypto, "reencrypt", lambda token: token)
    with pytest.raises(CommandError, match="3 secrets .* do not open with the new key alone"):
        rotate("--env-file", str(env_file))
    assert tokens() == before
    assert_all_reveal(stored)


@pytest.mark.parametrize(
    ("make_key", "reason"),
    [
        (lambda old: "not-a-fernet-key", "is not a Fernet key"),
        (lambda old: base64.urlsafe_b64encode(b"\x01" * 32).decode(), "too little entropy"),
        (lambda old: old, "already in FIELD_ENCRYPTION_KEY"),
        (lambda old: "change-me", "published example value"),
    ],
    ids=["not-base64", "repeated-bytes", "current-key", "published"],
)
def test_a_bad_new_key_is_refused_and_nothing_changes(
    settings, env_file: Path, old_key: str, stored: dict[int, str], make_key, reason: str
) -> None:
    bad_key = make_key(old_key)
    file_before, tokens_before = env_file.read_bytes(), tokens()
    with pytest.raises(CommandError, match=reason) as raised:
        rotate(f"--new-key={bad_key}", "--env-file", str(env_file))
    assert "Nothing was changed" in str(raised.value) and bad_key not in str(raised.value)
    assert env_file.read_bytes() == file_before
    assert tokens() == tokens_before
    assert list(settings.FIELD_ENCRYPTION_KEY) == [old_key]


def test_an_env_file_that_does_not_hold_the_running_keys_is_refused(
    tmp_path: Path, old_key: str, stored: dict[int, str]
) -> None:
    # The real environment overrides the file (load_dotenv override=False); editing it would
    # leave restarted processes without the new key while the rows are sealed with it.
    other = tmp_path / "other.env"
    other.write_text(f"FIELD_ENCRYPTION_KEY={Fernet.generate_key().decode()}\n")
    file_before, tokens_before = other.read_bytes(), tokens()
    for path in (other, tmp_path / "missing.env"):
        with pytest.raises(CommandError, match="--reencrypt-only"):
            rotate("--env-file", str(path))
    assert other.read_bytes() == file_before and tokens() == tokens_before
    assert not (tmp_path / "missing.env").exists()


def test_a_secret_no_configured_key_opens_stops_the_rotation(env_file: Path, stored: dict[int, str]) -> None:
    stranded = Secret.objects.create(label="x", ciphertext=Fernet(Fernet.generate_key()).encrypt(b"v").decode())
    file_before = env_file.read_bytes()
    with pytest.raises(CommandError, match=f"ids {stranded.pk}\\) cannot be decrypted"):
        rotate("--env-file", str(env_file))
    assert env_file.read_bytes() == file_before


def test_drop_old_refuses_while_a_secret_needs_an_old_key(
    settings, env_file: Path, old_key: str, stored: dict[int, str]
) -> None:
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = [new_key, old_key]
    env_file.write_text(f"FIELD_ENCRYPTION_KEY={new_key},{old_key}\n")
    with pytest.raises(CommandError, match="3 secrets .* still need an old key"):
        rotate("--drop-old", "--env-file", str(env_file))
    assert env_file_keys(env_file) == [new_key, old_key]
    assert list(settings.FIELD_ENCRYPTION_KEY) == [new_key, old_key]


def test_drop_old_refuses_when_the_keys_do_not_come_from_the_file(
    env_file: Path, old_key: str, stored: dict[int, str]
) -> None:
    # This process runs with OLD alone from its environment while the file lists NEW,OLD:
    # "one key, nothing to drop" would be a false all-clear.
    env_file.write_text(f"FIELD_ENCRYPTION_KEY={Fernet.generate_key().decode()},{old_key}\n")
    before = env_file.read_bytes()
    with pytest.raises(CommandError, match="does not define FIELD_ENCRYPTION_KEY as this process has it"):
        rotate("--drop-old", "--env-file", str(env_file))
    assert env_file.read_bytes() == before


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ('# note\nexport FIELD_ENCRYPTION_KEY="old"\nDEBUG=false\n', "# note\nexport FIELD_ENCRYPTION_KEY="),
        ("DEBUG=false", "DEBUG=false\n"),
    ],
    ids=["export-and-quotes", "no-key-line"],
)
def test_env_file_rewrite_keeps_the_rest(tmp_path: Path, text: str, kept: str) -> None:
    path = tmp_path / ".env"
    path.write_text(text)
    keys = [Fernet.generate_key().decode(), Fernet.generate_key().decode()]
    env_file_write_keys(path=path, keys=keys)
    assert env_file_keys(path) == keys
    assert path.read_text().startswith(kept) and "DEBUG=false\n" in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == [".env"], "no temp file left behind"


def test_an_env_file_that_cannot_be_replaced_changes_no_secret(
    monkeypatch, env_file: Path, old_key: str, stored: dict[int, str]
) -> None:
    before = tokens()

    def full_disk(source: str, target: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("apps.secrets.rotation.os.replace", full_disk)
    with pytest.raises(CommandError, match="could not update .*No space left.*no secret was changed"):
        rotate("--env-file", str(env_file))
    assert tokens() == before
    assert env_file_keys(env_file) == [old_key]
    assert [path.name for path in env_file.parent.iterdir()] == [".env"], "the temp file is removed"


def test_a_new_key_starting_with_a_dash_is_accepted_in_equals_form(env_file) -> None:
    """Fernet keys are url-safe base64, so about one in 64 starts with '-'."""
    new_key = "-" + Fernet.generate_key().decode()[1:]
    rotate(f"--new-key={new_key}", "--env-file", str(env_file))
    assert env_file_keys(env_file)[0] == new_key
