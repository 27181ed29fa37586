"""What sites ask of the packages above them. Those packages refer to sites, so sites may not
import them; instead each sets its answer here when the app is made (``survey.create_app``).

A hook left unset fails loudly (AttributeError) rather than answering wrongly.
"""

from collections.abc import Callable

from sqlalchemy.orm import Session

from survey.sites.models import Site

#: Why ``site`` may not move to another county, or None: set by checks (a site with a roster
#: keeps its county, as its entries are counted and scoped by it).
move_refusal: Callable[[Session, Site], str | None]

#: The site's kept answers, ``{channel: count}``: set by responses.
answers_by_channel: Callable[[Session, int], dict[str, int]]
