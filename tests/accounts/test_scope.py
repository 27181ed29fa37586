"""Region scoping (survey/regions/scope.py) and the one-parameter id list it binds."""

from sqlalchemy import select, update

from survey.accounts.models import User
from survey.db import db, in_ids, write_transaction
from survey.regions.models import Region
from survey.regions.scope import EVERYTHING, scope_of


def _tree(session) -> dict[str, Region]:
    """浙江省 → 丽水市 → 莲都区 → 紫金街道, and 丽水市 → 缙云县; 温州市 beside 丽水市."""
    province = Region(name="浙江省", level="province")
    lishui = Region(name="丽水市", level="city", parent=province)
    wenzhou = Region(name="温州市", level="city", parent=province)
    liandu = Region(name="莲都区", level="county", parent=lishui)
    jinyun = Region(name="缙云县", level="county", parent=lishui)
    zijin = Region(name="紫金街道", level="township", parent=liandu)
    regions = [province, lishui, wenzhou, liandu, jinyun, zijin]
    session.add_all(regions)
    session.flush()
    return {region.name: region for region in regions}


def _ids(regions: dict, *names: str) -> frozenset[int]:
    return frozenset(regions[name].id for name in names)


def test_each_role_sees_its_region_and_everything_under_it(app):
    with app.app_context(), write_transaction(db.session):
        session = db.session
        regions = _tree(session)

        def scope(role, region=None):
            region_id = region.id if region else None
            return scope_of(session, User(username=role, role=role, region_id=region_id))

        assert scope("admin") == EVERYTHING
        assert scope("city", regions["丽水市"]).region_ids == _ids(
            regions, "丽水市", "莲都区", "缙云县", "紫金街道"
        )
        all_names = ("浙江省", "丽水市", "温州市", "莲都区", "缙云县", "紫金街道")
        assert scope("city", regions["浙江省"]).region_ids == _ids(regions, *all_names)
        assert scope("county", regions["莲都区"]).region_ids == _ids(regions, "莲都区")
        assert scope("city").region_ids == frozenset()  # no region: nothing
        assert scope("county").region_ids == frozenset()


def test_a_region_made_its_own_ancestor_does_not_hang_the_scope(app):
    with app.app_context(), write_transaction(db.session):
        session = db.session
        regions = _tree(session)
        city = regions["丽水市"]
        # Not possible through the pages; a hand-edited database could do it.
        session.execute(
            update(Region).where(Region.id == city.id).values(parent_id=regions["紫金街道"].id)
        )
        user = User(username="c", role="city", region_id=city.id)
        assert scope_of(session, user).region_ids == _ids(
            regions, "丽水市", "莲都区", "缙云县", "紫金街道"
        )


def test_in_ids_binds_any_number_of_ids_as_one_list(app):
    with app.app_context(), write_transaction(db.session):
        session = db.session
        regions = _tree(session)

        def found(ids) -> set[int]:
            return set(session.scalars(select(Region.id).where(in_ids(Region.id, ids))))

        assert found([]) == set()
        assert found([regions["莲都区"].id]) == {regions["莲都区"].id}
        many = [r.id for r in regions.values()] + list(range(10**6, 10**6 + 5000))
        assert found(many) == {r.id for r in regions.values()}
        # The statement does not grow with the list: one parameter, one cached statement.
        query = select(Region.id).where(in_ids(Region.parent_id, many))
        sql = str(query.compile(db.engine))
        assert len(sql) < 200, sql
        # A condition the database can use an index for (not "… IN (…) = 1" on SQLite).
        assert not sql.rstrip().endswith("= 1"), sql
        if db.engine.dialect.name == "sqlite":
            plan = session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", ("[1]",))
            assert "ix_regions_parent_id" in " ".join(row[-1] for row in plan)
