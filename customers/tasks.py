from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_invitation(*, invitation_id: int, key_hash: str, base_url: str) -> bool:
    """E-mail an invitation's link. Idempotent: each link is sent once (NotificationSent)."""
    from customers.invitations import invitation_email_send

    return invitation_email_send(invitation_id=invitation_id, key_hash=key_hash, base_url=base_url)
