"""The admin area: dashboard and cleanup of inactive anonymous accounts.

Every request to the blueprint is checked on the server (:func:`require_admin`): only full accounts
with the admin flag get in; everyone else, anonymous records included, gets a 403. The views only
parse forms and call the services in ``cleanup.py`` and ``dashboard.py``.
"""

from __future__ import annotations

import time

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Response

from ..auth import AuthRecord
from ..auth import current_record
from ..auth import Identity
from ..extensions import db
from . import cleanup
from .charts import activity_charts
from .dashboard import dashboard as dashboard_figures
from .forms import CleanupForm
from .forms import ContinueForm
from .models import CleanupRun

bp = Blueprint("admin", __name__, url_prefix="/admin")

FORBIDDEN_MESSAGE = "This area is for the shop's administrators. Sign in with an admin account to use it."


def is_admin(record: AuthRecord | None) -> bool:
    """A full account with the admin flag."""
    return record is not None and Identity.of(record) is Identity.ACCOUNT and record.is_admin


@bp.before_request
def require_admin() -> None:
    """Runs before every admin view, whatever its method: 403 unless the identity is an admin."""
    if not is_admin(current_record()):
        abort(403, FORBIDDEN_MESSAGE)


@bp.after_request
def no_store(response: Response) -> Response:
    """Admin pages show shoppers' data: never keep them in a cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _deadline() -> float:
    """When the request should stop deleting and show progress (``CLEANUP_TIME_BUDGET`` seconds)."""
    return time.monotonic() + float(current_app.config["CLEANUP_TIME_BUDGET"])


def _criteria(form: CleanupForm) -> cleanup.Criteria | None:
    """The form's criteria, or ``None`` with the service's message on the field it refused."""
    try:
        return cleanup.make_criteria(form.inactive_days.data, form.collection_name)
    except cleanup.CleanupError as error:
        field = form.collection if error.field == "collection" else form.inactive_days
        field.errors = [*field.errors, error.message]
        return None


@bp.get("")
def dashboard() -> str:
    """Records per collection, conversion, guest against account orders, and recent cleanup runs."""
    return render_template("admin/dashboard.html", figures=dashboard_figures(), charts=activity_charts())


@bp.route("/cleanup", methods=["GET", "POST"])
def cleanup_page() -> Response | str | tuple[str, int]:
    """The cleanup form. Preview (POST, then a GET with the criteria in the query, so the sample
    pages and a reload work) counts and lists; Delete starts a run and goes to its page."""
    if request.method == "POST":
        form = CleanupForm()
        if not form.validate_on_submit():
            return render_template("admin/cleanup.html", form=form, preview=None, sample=None), 400
        criteria = _criteria(form)
        if criteria is None:
            return render_template("admin/cleanup.html", form=form, preview=None, sample=None), 400
        if form.delete.data:
            refused = _delete_refusal(form, criteria)
            if refused is not None:
                return refused
            deadline = _deadline()
            admin = current_record()
            assert admin is not None  # require_admin let the request in
            run = cleanup.start_run(criteria, actor=f"admin:{admin.email}")
            return _work_on(run.id, deadline)
        return redirect(
            url_for(
                "admin.cleanup_page",
                inactive_days=criteria.inactive_days,
                collection=form.collection.data,
            ),
            code=303,
        )

    if "inactive_days" not in request.args:
        return render_template(
            "admin/cleanup.html", form=CleanupForm(formdata=None), preview=None, sample=None
        )
    # The criteria come from the query string here: check them as the form would, without CSRF,
    # which only POSTs need.
    form = CleanupForm(formdata=request.args, meta={"csrf": False})
    if not form.validate():
        return render_template("admin/cleanup.html", form=form, preview=None, sample=None), 400
    criteria = _criteria(form)
    if criteria is None:
        return render_template("admin/cleanup.html", form=form, preview=None, sample=None), 400
    counts = cleanup.preview(criteria)
    page = request.args.get("page", 1, type=int) or 1
    sample = cleanup.sample(criteria, total=counts.matched, page=page)
    return render_template("admin/cleanup.html", form=form, preview=counts, sample=sample)


def _delete_refusal(form: CleanupForm, criteria: cleanup.Criteria) -> tuple[str, int] | None:
    """Delete goes ahead only after a preview, ticked beside the count it showed, and while that
    count still holds; else the preview page again (400, or 409 when the count moved), saying why."""
    counts = cleanup.preview(criteria)
    if form.expected.data is None:
        message, status = "Preview first: Delete comes after a preview, with a confirmation.", 400
    elif form.expected.data != counts.to_delete:
        message, status = (
            f"The count changed since your preview: {counts.to_delete:,} would be deleted now, "
            f"not {form.expected.data:,}. Check the preview and confirm again.",
            409,
        )
    elif not form.confirm.data:
        message, status = f"Tick the box to confirm that {counts.to_delete:,} should be deleted.", 400
    else:
        return None
    sample = cleanup.sample(criteria, total=counts.matched, page=1)
    page = render_template(
        "admin/cleanup.html", form=form, preview=counts, sample=sample, confirm_error=message
    )
    return page, status


@bp.get("/cleanup/runs/<int:run_id>")
def cleanup_run(run_id: int) -> str:
    """A run's progress (with a Continue button while it is running) or its result."""
    run = db.get_or_404(CleanupRun, run_id, description="There is no such cleanup run.")
    return render_template(
        "admin/run.html",
        run=run,
        criteria=cleanup.criteria_of(run),
        form=ContinueForm(),
        running=cleanup.RUNNING,
    )


@bp.post("/cleanup/runs/<int:run_id>/continue")
def continue_cleanup_run(run_id: int) -> Response:
    """Delete the next batches of a run for a couple of seconds, then show its page again.
    Continuing a finished run changes nothing."""
    # CSRFProtect has already refused a POST without a valid token (the form only renders the button).
    if cleanup.get_run(run_id) is None:
        abort(404, "There is no such cleanup run.")
    return _work_on(run_id, _deadline())


def _work_on(run_id: int, deadline: float) -> Response:
    """Delete batches of the run until ``deadline``, then show its page. A batch that fails (the
    database busy for longer than its timeout) changed nothing: the page says so and Continue tries
    again from where the run is."""
    try:
        cleanup.continue_run(run_id, deadline=deadline)
    except OperationalError:
        db.session.rollback()
        current_app.logger.exception("Cleanup run %s stopped on a database error", run_id)
        flash(
            "The database was too busy to go on just now. Nothing was lost: press Continue to try again.",
            "error",
        )
    return redirect(url_for("admin.cleanup_run", run_id=run_id), code=303)
