from customers.selectors import membership_for_user


def organisation(request) -> dict:
    """The signed-in user's membership and organisation, for the layout's header."""
    membership = membership_for_user(request.user) if hasattr(request, "user") else None
    return {
        "membership": membership,
        "organisation": membership.organisation if membership else None,
    }
