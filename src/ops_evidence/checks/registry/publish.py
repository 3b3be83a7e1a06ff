"""The publishing flow (OCI distribution spec v1.1): ping, auth, push, pull back, delete.

Push a random layer blob and a config blob (`POST /v2/<repo>/blobs/uploads/`, then a
monolithic `PUT <location>?digest=`), then a manifest under a unique tag; pull the manifest
and the layer back and compare their digests with what was pushed (the registry's
`Docker-Content-Digest` and the sha256 of the bytes read). Verified when all of that holds.
Then delete the manifest by digest: `202` is `deleted`; `405`, `400` or `UNSUPPORTED` is
`disabled` (the registry keeps what was pushed; reported, not a failure); anything else is
`failed`, also without failing the check, since push and pull are what it proves.
With credentials declared, a registry that asks for none anywhere in the flow does not
verify: the push proved nothing about the declared user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import anyio
import httpx

from ops_evidence.checks.base import Failure
from ops_evidence.checks.registry.content import (
    MANIFEST_TYPE,
    Artifact,
    Blob,
    digest_of,
    make_artifact,
)
from ops_evidence.checks.registry.session import Answer, AuthScheme, Session, Step
from ops_evidence.inventory.checks import RegistryPublishCheck
from ops_evidence.inventory.secrets import SecretUnavailableError

DeleteOutcome = Literal["deleted", "disabled", "failed", "skipped"]
# A semicolon, not a colon: redaction reads `credentials: <word>` as a secret and masks it.
UNEXERCISED = "the registry asked no credentials; the declared ones were not exercised"


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What one publish showed: `failure` is None when push and pull verified."""

    repository: str
    tag: str | None
    auth_scheme: AuthScheme = "none"
    granted_scope: str | None = None
    steps: list[Step] = field(default_factory=list)
    delete: DeleteOutcome = "skipped"
    manifest_digest: str | None = None
    blob_digest: str | None = None
    failure: Failure | None = None


def _refused(answer: Answer) -> bool:
    return answer.status in (401, 403) or answer.error_code() in ("denied", "unauthorized")


def _step_failure(stage: str, name: str, answer: Answer, expected: int) -> Failure | None:
    """None when `answer` is `expected`; else why, e.g. `push refused: blob upload 401 (denied)`."""
    label = name.replace("-", " ")
    if answer.failure is not None:
        return Failure.of("publish_failed", f"{stage} failed: {label}: {answer.failure.message}")
    if answer.status == expected:
        return None
    code = answer.error_code()
    suffix = f" ({code})" if code else ""
    if _refused(answer):
        return Failure.of("publish_refused", f"{stage} refused: {label} {answer.status}{suffix}")
    text = f"{stage} failed: {label} {answer.status}, expected {expected}{suffix}"
    return Failure.of("publish_failed", text)


def _record(
    session: Session, name: str, answer: Answer, failure: Failure | None, digest: str | None = None
) -> None:
    detail = failure.message if failure is not None else None
    session.steps.append(Step(name, answer.status, failure is None, digest, detail))


def _digest_failure(stage: str, what: str, expected: str, *observed: str | None) -> Failure | None:
    wrong = [value for value in observed if value is not None and value != expected]
    if not wrong:
        return None
    # Not "digest <value>": redaction reads that as the HTTP Digest scheme and masks it.
    text = f"{stage}: {what} read back as {wrong[0]}, pushed {expected}"
    return Failure.of("publish_mismatch", text)


async def _push_blob(session: Session, repository: str, name: str, blob: Blob) -> Failure | None:
    answer = await session.authorised(f"{name}-upload", "POST", f"/v2/{repository}/blobs/uploads/")
    location = answer.headers.get("location")
    failure = _step_failure("push", f"{name}-upload", answer, 202)
    if failure is None and not location:
        failure = Failure.of("publish_failed", f"push failed: {name} upload gave no Location")
    _record(session, f"{name}-upload", answer, failure)
    if failure is not None or location is None:
        return failure
    url = httpx.URL(session.base).join(location).copy_merge_params({"digest": blob.digest})
    headers = {"Content-Type": "application/octet-stream"}
    answer = await session.authorised(
        f"{name}-put", "PUT", str(url), headers=headers, content=blob.data
    )
    failure = _step_failure("push", f"{name}-put", answer, 201) or _digest_failure(
        "push", name, blob.digest, answer.headers.get("docker-content-digest")
    )
    _record(session, f"{name}-put", answer, failure, blob.digest)
    return failure


async def _put_manifest(session: Session, repository: str, artifact: Artifact) -> Failure | None:
    url = f"/v2/{repository}/manifests/{artifact.tag}"
    headers = {"Content-Type": MANIFEST_TYPE}
    answer = await session.authorised(
        "manifest-put", "PUT", url, headers=headers, content=artifact.manifest
    )
    failure = _step_failure("push", "manifest-put", answer, 201) or _digest_failure(
        "push",
        "manifest",
        artifact.manifest_digest,
        answer.headers.get("docker-content-digest"),
    )
    _record(session, "manifest-put", answer, failure, artifact.manifest_digest)
    return failure


async def _pull(session: Session, repository: str, artifact: Artifact) -> Failure | None:
    """Read the manifest (by tag) and the layer back; their bytes must hash as pushed."""
    pulls = (
        ("manifest-get", f"manifests/{artifact.tag}", artifact.manifest_digest, MANIFEST_TYPE),
        ("blob-get", f"blobs/{artifact.layer.digest}", artifact.layer.digest, "*/*"),
    )
    for name, path, expected, accept in pulls:
        answer = await session.authorised(
            name, "GET", f"/v2/{repository}/{path}", headers={"Accept": accept}, follow=True
        )
        observed = digest_of(answer.body) if answer.status == 200 else None
        header = answer.headers.get("docker-content-digest")
        failure = _step_failure("pull", name, answer, 200) or _digest_failure(
            "pull", name.split("-")[0], expected, observed, header
        )
        _record(session, name, answer, failure, observed)
        if failure is not None:
            return failure
    return None


async def _delete(session: Session, repository: str, digest: str) -> DeleteOutcome:
    answer = await session.authorised("delete", "DELETE", f"/v2/{repository}/manifests/{digest}")
    outcome: DeleteOutcome = "failed"
    if answer.status == 202:
        outcome = "deleted"
    elif answer.status in (400, 405) or answer.error_code() == "unsupported":
        outcome = "disabled"
    if answer.failure is not None:
        detail: str | None = answer.failure.message
    else:
        code = answer.error_code()
        detail = None if outcome == "deleted" else f"{outcome}: {answer.status} ({code or '-'})"
    session.steps.append(Step("delete", answer.status, outcome != "failed", digest, detail))
    return outcome


async def _push_and_pull(session: Session, repository: str, artifact: Artifact) -> Failure | None:
    if not await session.ping():
        return Failure.of("publish_failed", f"ping failed: {session.steps[-1].detail}")
    if session.scheme == "bearer" and not await session.fetch_token(
        f"repository:{repository}:pull,push"
    ):
        step = session.steps[-1]
        refused = step.status in (401, 403)
        stage = "push refused" if refused else "push failed"
        code = "publish_refused" if refused else "publish_failed"
        return Failure.of(code, f"{stage}: the realm gave no token ({step.detail})")
    for name, blob in (("blob", artifact.layer), ("config", artifact.config)):
        failure = await _push_blob(session, repository, name, blob)
        if failure is not None:
            return failure
    return await _put_manifest(session, repository, artifact) or await _pull(
        session, repository, artifact
    )


@dataclass
class Publication:
    """One publish under way. Built outside any timeout, so a run cut short still has the
    steps done, the step that hung (`session.pending`), and what it may have to delete."""

    check: RegistryPublishCheck
    artifact: Artifact
    session: Session
    delete: DeleteOutcome = "skipped"

    @property
    def pushed(self) -> bool:
        """Whether the registry took the manifest (there is an image to delete)."""
        return any(s.name == "manifest-put" and s.ok for s in self.session.steps)

    async def push_and_pull(self) -> Failure | None:
        """The flow up to the pull; None when it verified with the declared credentials."""
        failure = await _push_and_pull(self.session, self.check.repository, self.artifact)
        if failure is None and self.session.password is not None and self.session.scheme == "none":
            # OPS-G05 asks for publishing with governed credentials: an anonymously writable
            # registry proves that anyone can push, not that the declared user can.
            failure = Failure.of("publish_failed", UNEXERCISED)
        return failure

    async def clean_up(self) -> None:
        """Delete the pushed manifest, when declared and not done yet (may run again after
        a timeout cut the first try)."""
        if self.check.delete and self.pushed and self.delete == "skipped":
            digest = self.artifact.manifest_digest
            self.delete = await _delete(self.session, self.check.repository, digest)

    async def clean_up_within(self, seconds: float) -> None:
        """After a timeout: the delete, shielded from cancellation and bounded, so a hung
        pull does not leave the pushed image behind; `failed` when it has no answer either."""
        with anyio.move_on_after(max(seconds, 0.0), shield=True):
            await self.clean_up()
        if self.check.delete and self.pushed and self.delete == "skipped":
            self.delete = "failed"
            detail = f"no answer within {seconds:.1f}s after the timeout"
            digest = self.artifact.manifest_digest
            self.session.steps.append(Step("delete", None, False, digest, detail))

    def hung(self, seconds: float) -> Failure:
        """The timeout, naming the step with no answer, which is added to the steps."""
        name = self.session.pending or "ping"
        detail = f"no answer within the publish's {seconds:.1f}s"
        self.session.steps.append(Step(name, None, False, detail=detail))
        return Failure.of("timeout", f"{name} had no answer within {seconds:.1f}s")

    def result(self, failure: Failure | None) -> PublishResult:
        """What the publish showed so far."""
        pushed = self.pushed
        return PublishResult(
            repository=self.check.repository,
            tag=self.artifact.tag,
            auth_scheme=self.session.scheme,
            granted_scope=self.session.granted_scope,
            steps=self.session.steps,
            delete=self.delete,
            manifest_digest=self.artifact.manifest_digest if pushed else None,
            blob_digest=self.artifact.layer.digest,
            failure=failure,
        )


def start(
    check: RegistryPublishCheck, base: str, client: httpx.AsyncClient, now: datetime
) -> Publication | PublishResult:
    """A publication to the registry at `base` (an origin), or the result of a password that
    cannot be read."""
    artifact = make_artifact(now)
    try:
        password = check.password.read() if check.password is not None else None
    except SecretUnavailableError as exc:
        unavailable = Failure.of("secret_unavailable", str(exc))
        return PublishResult(check.repository, artifact.tag, failure=unavailable)
    session = Session(client, base.rstrip("/"), check.username, password)
    return Publication(check, artifact, session)


async def publish(
    check: RegistryPublishCheck, base: str, client: httpx.AsyncClient, now: datetime
) -> PublishResult:
    """Run the whole flow against the registry at `base` (an origin), unbounded; never raises."""
    publication = start(check, base, client, now)
    if isinstance(publication, PublishResult):
        return publication
    failure = await publication.push_and_pull()
    await publication.clean_up()
    return publication.result(failure)
