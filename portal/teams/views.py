"""The team page: members and roles for every member, management for team admins, the quota read-only.

Every write goes through ``portal.teams.services`` / ``portal.quota_requests.services``,
which check the role again; a refused role is a 403, bad input a form error where it was
typed. htmx swaps the section that changed; without htmx the page is rendered again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from portal.amounts import RESOURCES
from portal.choices import Role
from portal.htmx import is_htmx
from portal.models import Team
from portal.permissions import require_role, role_at_least, role_in
from portal.quota_requests.services import quota_change_submit
from portal.quotas import quota_bars, quota_limits, teams_usage
from portal.teams.forms import MemberAddForm, MemberRoleForm, QuotaChangeForm
from portal.teams.selectors import members_of, membership_get, quota_change_waiting, quota_changes_decided, team_get
from portal.teams.services import membership_add, membership_remove, membership_role_change

PAGE = "portal/teams/team_detail.html"
MEMBERS = "portal/teams/_members.html"
QUOTA_CHANGE = "portal/teams/_quota_change.html"


def quota_form_initial(team: Team) -> dict[str, Any]:
    """Today's limits, so the form shows what changes."""
    limits = quota_limits(getattr(team, "quota", None))
    return {resource.field: limits.get(resource.field) for resource in RESOURCES}


def managed_team(request: HttpRequest, slug: str) -> Team:
    """The team, for its team admins: 404 for outsiders, 403 for the other roles before any input is read.

    Checked before the form too, so that no one else learns from its errors who has an account.
    """
    team = team_get(request.user, slug)
    require_role(request.user, team, Role.TEAM_ADMIN)
    return team


def team_context(request: HttpRequest, team: Team, **overrides: Any) -> dict[str, Any]:
    """Everything the page and its sections show; ``overrides`` carries bound forms with their errors."""
    role = role_in(request.user, team)
    can_manage = role_at_least(role, Role.TEAM_ADMIN)
    context: dict[str, Any] = {
        "team": team,
        "role_label": Role(role).label if role else "",
        "can_manage": can_manage,
        "members": members_of(team),
        "role_form": MemberRoleForm(actor_role=role),
        "add_form": MemberAddForm(actor_role=role) if can_manage else None,
        "bars": quota_bars(teams_usage([team])[team.pk]),
        "waiting": quota_change_waiting(team),
        "decided": quota_changes_decided(team),
        "quota_form": QuotaChangeForm(initial=quota_form_initial(team)) if can_manage else None,
        "member_errors": {},
        "notice": "",
    }
    context.update(overrides)
    return context


def answer(request: HttpRequest, team: Team, fragment: str, context: dict[str, Any], failed: bool) -> HttpResponse:
    """The changed section (htmx), the page again with the errors (400), or back to the page after success."""
    if is_htmx(request):
        # htmx swaps only 2xx answers, so errors come back as 200 inside the section.
        return render(request, fragment, context)
    if failed:
        return render(request, PAGE, context, status=400)
    if context["notice"]:
        messages.success(request, context["notice"])
    return redirect("team-detail", slug=team.slug)


class TeamDetailView(LoginRequiredMixin, View):
    """Members, roles and quota of one of the user's teams."""

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        team = team_get(request.user, slug)
        return render(request, PAGE, team_context(request, team))


class MemberAddView(LoginRequiredMixin, View):
    """A team admin adds an existing user with a role."""

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        team = managed_team(request, slug)
        form = MemberAddForm(request.POST, actor_role=role_in(request.user, team))
        notice = ""
        if form.is_valid():
            try:
                membership = membership_add(
                    actor=request.user,
                    team=team,
                    user_identifier=form.cleaned_data["user"],
                    role=form.cleaned_data["role"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                notice = f"{membership.user.get_username()} was added as {membership.get_role_display().lower()}."
                form = MemberAddForm(actor_role=role_in(request.user, team))
        context = team_context(request, team, add_form=form, notice=notice)
        return answer(request, team, MEMBERS, context, failed=not notice)


class MemberRoleView(LoginRequiredMixin, View):
    """A team admin changes a member's role."""

    def post(self, request: HttpRequest, slug: str, pk: int) -> HttpResponse:
        team = managed_team(request, slug)
        membership = membership_get(team, pk)
        form = MemberRoleForm(request.POST, actor_role=role_in(request.user, team))
        error, notice = "", ""
        if form.is_valid():
            try:
                changed = membership_role_change(
                    actor=request.user, team=team, membership_id=membership.pk, role=form.cleaned_data["role"]
                )
            except ValidationError as refused:
                error = " ".join(refused.messages)
            else:
                notice = f"{changed.user.get_username()} is now {changed.get_role_display().lower()}."
        else:
            error = " ".join(str(message) for field_errors in form.errors.values() for message in field_errors)
        context = team_context(request, team, member_errors={membership.pk: error}, notice=notice)
        return answer(request, team, MEMBERS, context, failed=bool(error))


class MemberRemoveView(LoginRequiredMixin, View):
    """A team admin removes a member (themselves included, unless they are the last team admin)."""

    def post(self, request: HttpRequest, slug: str, pk: int) -> HttpResponse:
        team = managed_team(request, slug)
        membership = membership_get(team, pk)
        try:
            membership_remove(actor=request.user, team=team, membership_id=membership.pk)
        except ValidationError as refused:
            context = team_context(request, team, member_errors={membership.pk: " ".join(refused.messages)})
            return answer(request, team, MEMBERS, context, failed=True)
        if role_in(request.user, team) is None:  # they removed themselves: the page is no longer theirs
            messages.success(request, f"You left team {team.name}.")
            if is_htmx(request):
                return HttpResponse(headers={"HX-Redirect": reverse("dashboard")})
            return redirect("dashboard")
        notice = f"{membership.user.get_username()} was removed from the team."
        return answer(request, team, MEMBERS, team_context(request, team, notice=notice), failed=False)


class QuotaChangeRequestView(LoginRequiredMixin, View):
    """A team admin asks for new quota limits; an administrator decides in Django admin."""

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        team = managed_team(request, slug)
        form = QuotaChangeForm(request.POST, initial=quota_form_initial(team))
        notice = ""
        if form.is_valid():
            try:
                quota_change_submit(
                    actor=request.user,
                    team=team,
                    limits=form.limits(),
                    justification=form.cleaned_data["justification"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                notice = "Your quota change was sent for approval."
        context = team_context(request, team, notice=notice, **({} if notice else {"quota_form": form}))
        return answer(request, team, QUOTA_CHANGE, context, failed=not notice)
