"""Who a caller is and what they may touch: the ownership rules.

With auth on, the owner is always the authenticated principal; a user sees
and changes only their own images, and another user's image is "not found" so
its existence does not leak. Admins see everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.errors import Forbidden, Invalid


@dataclass(frozen=True)
class Caller:
    """The principal behind a request; `owner` None means auth is off."""

    owner: str | None = None
    admin: bool = False

    @property
    def authenticated(self) -> bool:
        return self.owner is not None

    def owner_for_upload(self, requested: str | None) -> str:
        """The owner of a new image: the principal, or `user_id` when auth is off."""
        if not self.authenticated:
            if requested is None:
                raise Invalid("user_id is required")
            return requested
        if requested not in (None, self.owner):  # 403, as listing another user's images is
            raise Forbidden(f"you can upload only as yourself: user_id is taken from your credentials ({self.owner})")
        assert self.owner is not None  # authenticated
        return self.owner

    def owner_to_list(self, requested: str | None) -> str | None:
        """Whose images a list shows: a user's own only, unless an admin (or auth is off)."""
        if not self.authenticated or self.admin:
            return requested
        if requested not in (None, self.owner):
            raise Forbidden(f"you can list only your own images (user_id={self.owner})")
        return self.owner

    def may_see(self, owner: str) -> bool:
        return not self.authenticated or self.admin or owner == self.owner


ANONYMOUS = Caller()
