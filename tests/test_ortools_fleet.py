"""OR-Tools with clients that only some vehicle types can serve."""

from __future__ import annotations

import vrpkit
from vrpkit import Client, Depot, Problem, VehicleType


def test_client_only_the_big_type_can_carry():
    """c2's delivery 8 fits only the truck. Optimum: the van takes c1 (2 * 1), the truck c2 (2 * 2) plus its
    fixed cost 10: 16. The truck alone for both would cost 10 + 1 + 1 + 2 = 14 but carries 11 > 10."""
    p = Problem(
        "fleet",
        depots=(Depot("D", (0, 0)),),
        clients=(Client("c1", (1, 0), delivery=3), Client("c2", (-2, 0), delivery=8)),
        vehicle_types=(VehicleType("van", count=1, capacity=5), VehicleType("truck", count=1, capacity=10,
                                                                            fixed_cost=10)),
    )
    result = vrpkit.solve(p, "ortools", time_limit=1)
    assert result.feasible and result.cost == 16
    by_type = {p.vehicle_types[r.vehicle_type].id: r.clients for r in result.solution.routes}
    assert by_type == {"van": (0,), "truck": (1,)}
