"""Finding tracks: the queries behind the project page's library and the search page.

Every page of results costs the same few queries whatever the number of tracks and whichever
page: the page count in one COUNT (of COUNT_CAP matches at most), the rows with their generation and its author in one join
(their ids picked in a subquery, see TrackPaginator), tags in one prefetch."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property

from studio.catalog import BY_KEY, KIND_LABELS
from studio.models import Generation, Membership, Project, Tag, Track, search_words

PAGE_SIZE = 25
# Past this many matches the count says "10,000+": counting every match of a common word is a
# scan that grows with the library, and nobody pages that far.
COUNT_CAP = 10_000
MAX_SEARCH_WORDS = 8

SORTS = {
    "new": ("Newest first", ("-created_at", "-id")),
    "old": ("Oldest first", ("created_at", "id")),
    "longest": ("Longest first", (F("duration_seconds").desc(nulls_last=True), "-id")),
    "shortest": ("Shortest first", (F("duration_seconds").asc(nulls_last=True), "id")),
    "title": ("Title A–Z", ("sort_title", "id")),  # case and accents ignored (models.sort_key)
}


@dataclass(frozen=True)
class TrackFilters:
    q: str = ""
    kind: str = ""
    model: str = ""
    tag: str = ""
    favorite: bool = False
    member: int | None = None
    sort: str = "new"


def tracks_in(project_ids) -> QuerySet[Track]:
    """Tracks of the given projects (a list or a subquery)."""
    return Track.objects.filter(project_id__in=project_ids)


def with_row_details(tracks: QuerySet[Track]) -> QuerySet[Track]:
    """What a result row shows besides the track: its generation and author, its project, its tags."""
    return tracks.select_related("generation__created_by", "project").prefetch_related("tags")


def filter_tracks(tracks: QuerySet[Track], f: TrackFilters) -> QuerySet[Track]:
    # Each word must appear in the title or the prompt (search_text holds both, folded).
    for word in search_words(f.q).split()[:MAX_SEARCH_WORDS]:
        tracks = tracks.filter(search_text__contains=word)
    if f.kind:
        tracks = tracks.filter(generation__model_key__in=[m.key for m in BY_KEY.values() if m.kind == f.kind])
    if f.model:
        tracks = tracks.filter(generation__model_key=f.model)
    if f.tag:
        tracks = tracks.filter(tags__name=f.tag)  # one tag of that name per project: no duplicates
    if f.favorite:
        tracks = tracks.filter(favorite=True)
    if f.member:
        tracks = tracks.filter(generation__created_by_id=f.member)
    return tracks.order_by(*SORTS.get(f.sort, SORTS["new"])[1])


class TrackPaginator(Paginator):
    """Pages through the tracks' ids alone, then loads the one page's rows with their details.

    With OFFSET the database builds every row it skips: page 100 would join 2,475 tracks to their
    generation and author only to throw them away. Ids alone come in order from an index (the
    filters' joins, if any, stay in that subquery), and only the page's rows are joined. The
    page's query sorts its rows again by the same keys: every sort ends with the id, so both
    agree on the order."""

    def __init__(self, tracks: QuerySet[Track], per_page: int):
        super().__init__(tracks.values_list("pk", flat=True), per_page)
        self.ordering = tracks.query.order_by

    @cached_property
    def matches_counted(self) -> int:
        """One COUNT over at most COUNT_CAP + 1 rows: the database stops there."""
        return self.object_list.order_by()[: COUNT_CAP + 1].count()

    @property
    def count(self) -> int:
        return min(self.matches_counted, COUNT_CAP)

    @property
    def capped(self) -> bool:
        """More matches than `count` says (the page shows "10,000+")."""
        return self.matches_counted > COUNT_CAP

    def _get_page(self, ids, number, paginator) -> Page:
        rows = with_row_details(Track.objects.filter(pk__in=ids)).order_by(*self.ordering)
        return Page(rows, number, paginator)


def page_of(tracks: QuerySet[Track], number) -> Page:
    """One page of the (filtered, ordered) tracks; a missing or bad number gives the first page,
    one past the end the last."""
    return TrackPaginator(tracks, PAGE_SIZE).get_page(number)


def project_overview(user) -> QuerySet[Project]:
    """The user's projects with their track count and latest activity: one query.

    Subqueries rather than joins: joining tracks and generations together would multiply rows."""
    track_count = (
        Track.objects.filter(project=OuterRef("pk")).order_by().values("project").annotate(n=Count("*")).values("n")
    )
    latest = Generation.objects.filter(project=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
    return (
        Project.objects.filter(memberships__user=user)
        .annotate(
            track_count=Coalesce(Subquery(track_count), 0),
            last_activity=Subquery(latest),
            role=F("memberships__role"),
        )
        .order_by(F("archived_at").asc(nulls_first=True), "-created_at")
    )


def filter_choices(project_ids) -> dict:
    """What the filter form offers: the tags, models and members found in these projects."""
    return {
        "tags": sorted(set(Tag.objects.filter(project_id__in=project_ids).values_list("name", flat=True))),
        "members": list(
            Membership.objects.filter(project_id__in=project_ids)
            .values_list("user_id", "user__username")
            .distinct()
            .order_by("user__username")
        ),
    }


def find(params, project_ids, *, project=None, can_edit=False) -> dict:
    """The find form and one page of matching tracks, for the project page and the search page."""
    choices = filter_choices(project_ids)
    form = FindForm(params or None, members=choices["members"], tags=choices["tags"])
    filters = form.filters() if params else TrackFilters()
    tracks = filter_tracks(tracks_in(project_ids), filters)
    page = page_of(tracks, params.get("page"))
    query = params.copy()
    query.pop("page", None)
    return {
        "find_form": form,
        "page": page,
        "page_query": query.urlencode(),
        "filtered": form.is_filtering(),
        "library_project": project,
        "can_edit": can_edit,
    }


class FindForm(forms.Form):
    """Search and filters of a track list; every field optional, unknown values ignored."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Words from a title or a prompt"}),
    )
    kind = forms.ChoiceField(label="Kind", required=False)
    # Not "model": the project page's ?model= picks the generate form's model.
    with_model = forms.ChoiceField(label="Made with", required=False)
    tag = forms.CharField(label="Tag", required=False, max_length=40)
    favorite = forms.BooleanField(label="Favorites only", required=False)
    member = forms.TypedChoiceField(label="Generated by", required=False, coerce=int, empty_value=None)
    sort = forms.ChoiceField(label="Sort", required=False)

    def __init__(self, *args, members=(), tags=(), **kwargs):
        kwargs.setdefault("auto_id", "find-%s")  # the generate form on the same page owns the id_* names
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "Any kind"), *KIND_LABELS.items()]
        self.fields["with_model"].choices = [("", "Any model"), *((m.key, m.label) for m in BY_KEY.values())]  # routed ones too
        self.fields["member"].choices = [("", "Anyone"), *members]
        self.fields["sort"].choices = [(key, label) for key, (label, _) in SORTS.items()]
        self.tag_names = list(tags)

    def is_filtering(self) -> bool:
        return any(self.data.get(name) for name in self.fields if name != "sort")

    def filters(self):
        if not self.is_valid():
            # A stale or hand-edited link still shows results: keep only the parts that are valid.
            data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        else:
            data = self.cleaned_data
        return TrackFilters(
            q=data.get("q") or "",
            kind=data.get("kind") or "",
            model=data.get("with_model") or "",
            tag=data.get("tag") or "",
            favorite=bool(data.get("favorite")),
            member=data.get("member"),
            sort=data.get("sort") or "new",
        )
