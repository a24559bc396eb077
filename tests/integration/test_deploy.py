"""The systemd deployment (deploy/ehrbridge.service, deploy/ehrbridge.env): the unit is hardened as
docs/operations.md says, `systemd-analyze verify` accepts it without a single warning and `systemd-analyze
security` rates it OK (both when systemd-analyze is installed; the static checks always run), and
the example environment file is one ehrbridge accepts."""
import re
import shutil
import subprocess

import pytest

import helpers
from conftest import ehrbridge_bin, run_cli

UNIT = helpers.REPO / "deploy" / "ehrbridge.service"
ENV_FILE = helpers.REPO / "deploy" / "ehrbridge.env"

REQUIRED = {  # directive: value (the promises of docs/operations.md)
    "DynamicUser": "yes", "StateDirectory": "ehrbridge", "ProtectSystem": "strict",
    "ProtectHome": "yes", "PrivateTmp": "yes", "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "MemoryDenyWriteExecute": "yes", "PrivateDevices": "yes", "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes", "ProtectControlGroups": "yes", "RestrictNamespaces": "yes",
    "LockPersonality": "yes", "RestrictSUIDSGID": "yes", "SystemCallArchitectures": "native",
    "Type": "exec", "ExecStart": "/usr/local/bin/ehrbridge serve",
    "EnvironmentFile": "-/etc/ehrbridge/ehrbridge.env",
    "LoadCredential": "ehrbridge:/etc/ehrbridge/credentials", "KillSignal": "SIGTERM",
}


def directives(text):
    """[(section, key, value)] of a unit file (comments and blank lines skipped)."""
    out, section = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def test_unit_is_hardened():
    d = directives(UNIT.read_text())
    service = {}
    for section, k, v in d:
        if section == "Service":
            service.setdefault(k, []).append(v)
    for key, value in REQUIRED.items():
        assert value in service.get(key, []), f"{key}={value} missing (have {service.get(key)})"
    assert "@system-service" in service["SystemCallFilter"]
    assert ("Install", "WantedBy", "multi-user.target") in d
    # no secret in the unit or the example environment: secrets come from credential files
    for text in (UNIT.read_text(), ENV_FILE.read_text()):
        for m in re.finditer(r"^\s*#?\s*(?:Environment=)?(EHRBRIDGE_[A-Z_]+)=(.*)$", text, re.M):
            name = m.group(1)
            if any(s in name for s in ("KEY", "TOKEN", "PASSWORD")) and not name.endswith("_FILE"):
                assert name == "EHRBRIDGE_TLS_KEY" and "/run/credentials/" in m.group(2) or \
                    "%d/" in m.group(2), f"secret {name} given inline"


def unit_for_this_machine(tmp_path):
    """The unit with ExecStart pointing at the binary under test (verify checks it exists)."""
    text = UNIT.read_text().replace("/usr/local/bin/ehrbridge", ehrbridge_bin())
    p = tmp_path / "ehrbridge.service"
    p.write_text(text)
    return p


def systemd_analyze():
    exe = shutil.which("systemd-analyze")
    if not exe:
        pytest.skip("systemd-analyze is not installed (the static checks ran)")
    return exe


def test_systemd_analyze_verify_has_nothing_to_say(tmp_path):
    exe = systemd_analyze()
    r = subprocess.run([exe, "verify", "--man=no", str(unit_for_this_machine(tmp_path))],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), r.stdout + r.stderr


def test_systemd_analyze_security_rates_the_unit_ok(tmp_path):
    exe = systemd_analyze()
    r = subprocess.run([exe, "security", "--offline=true", "--no-pager",
                        str(unit_for_this_machine(tmp_path))],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)", r.stdout)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= 2.0 and m.group(2) == "OK", m.group(0)


def env_file_settings():
    """The EHRBRIDGE_* settings of the example environment file, commented-out ones too."""
    out = {}
    for line in ENV_FILE.read_text().splitlines():
        m = re.match(r"^#?(EHRBRIDGE_[A-Z0-9_]+)=(.*)$", line.strip())
        if m:
            out[m.group(1)] = (m.group(2), not line.startswith("#"))
    return out


def test_every_setting_named_is_one_ehrbridge_knows():
    known = set(re.findall(r"EHRBRIDGE_[A-Z0-9_]+", run_cli("--help").stdout))
    named = set(env_file_settings())
    named |= set(re.findall(r"(EHRBRIDGE_[A-Z0-9_]+)=", UNIT.read_text()))
    assert named and named <= known, sorted(named - known)


def test_the_example_configuration_passes_check(tmp_path):
    """The unit's defaults, then the active lines of the environment file (as systemd reads them:
    the file wins), with the paths moved into a temporary folder: `ehrbridge check` is happy."""
    env = {}
    for section, k, v in directives(UNIT.read_text()):
        if k == "Environment":
            name, _, value = v.partition("=")
            env[name] = value
    for name, (value, active) in env_file_settings().items():
        if active:
            env[name] = value
    key = tmp_path / "sign_key"
    key.write_text("the-vendor-signing-key\n")
    env["EHRBRIDGE_SIGN_KEY_FILE"] = str(key)
    env["EHRBRIDGE_DB"] = f"sqlite:{tmp_path / 'ehrbridge.db'}"
    r = run_cli("check", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok:"), r.stdout
