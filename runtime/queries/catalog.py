"""The catalog as the edges read it: stored workflows, users and trained models.

Every signed-in user may read the workflows and the models; only admins and auditors may
list the users.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime.access import User, require_reader

if TYPE_CHECKING:
    from runtime.store.contract import Store
    from runtime.workflow_diff import WorkflowDiff


def list_workflows(store: Store, user: User | None) -> list[dict[str, Any]]:
    """The newest version of every stored workflow.

    Args:
        store: the store.
        user: the signed-in user, or None for the local trusted caller (any user may read
            the workflows).

    Returns:
        Rows of ``id, name, version, status, created_at, created_by, message, versions``
        (``versions``: how many versions are stored), by id.
    """
    return store.list_workflows()


def get_workflow(
    store: Store, user: User | None, workflow_id: str, version: int | None = None
) -> dict[str, Any]:
    """One stored workflow version, with its spec.

    Args:
        store: the store.
        user: the signed-in user, or None for the local trusted caller.
        workflow_id: the workflow.
        version: the version (default: the newest).

    Returns:
        The version's row (every column of the workflows table; ``spec`` is its spec).

    Raises:
        NotFoundError: no such workflow or version.
    """
    return store.get_workflow(workflow_id, version)


def workflow_versions(store: Store, user: User | None, workflow_id: str) -> list[dict[str, Any]]:
    """Every stored version of one workflow, newest first.

    Args:
        store: the store.
        user: the signed-in user, or None for the local trusted caller.
        workflow_id: the workflow.

    Returns:
        Rows of ``id, version, name, status, message, created_by, created_at, digest``.
    """
    return store.list_workflow_versions(workflow_id)


def workflow_diff(
    store: Store, user: User | None, workflow_id: str, before: int, after: int
) -> WorkflowDiff:
    """What changed from version ``before`` to version ``after`` of one workflow.

    Args:
        store: the store.
        user: the signed-in user, or None for the local trusted caller.
        workflow_id: the workflow.
        before: the older version (any order works: the diff reads from before to after).
        after: the newer version.

    Raises:
        NotFoundError: no such workflow or version.
    """
    from runtime.spec import WorkflowSpec
    from runtime.workflow_diff import diff_workflows

    old = get_workflow(store, user, workflow_id, before)["spec"]
    new = get_workflow(store, user, workflow_id, after)["spec"]
    return diff_workflows(WorkflowSpec.model_validate(old), WorkflowSpec.model_validate(new))


def list_users(store: Store, user: User | None) -> list[dict[str, Any]]:
    """Every user with their roles and teams (no secrets).

    Args:
        store: the store.
        user: the signed-in user (an admin or auditor), or None for the local caller.

    Returns:
        Rows of ``name, display_name, roles, teams, disabled, created_at``, by name.

    Raises:
        AccessError: the user is neither an admin nor an auditor.
    """
    require_reader(user, roles=(), what="list users")
    return store.list_users()


def list_models(store: Store, user: User | None, name: str | None = None) -> list[dict[str, Any]]:
    """Every stored model version (without its weights), by name, newest version first.

    Args:
        store: the store.
        user: the signed-in user, or None for the local trusted caller.
        name: only this model's versions.

    Returns:
        Rows of ``name, version, provider, labels, metrics, created_at, created_by,
        source, size`` (``size``: the stored weights' bytes; ``metrics``: a dict or None).
    """
    return store.list_models(name)
