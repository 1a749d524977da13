"""The kinds of import, by name."""

from __future__ import annotations

from relais_platform.imports.kinds.base import Importer


def importers() -> dict[str, type[Importer]]:
    from relais_platform.imports.kinds.beneficiaries import BeneficiariesImporter
    from relais_platform.imports.kinds.products import ProductsImporter
    from relais_platform.imports.kinds.relais import RelaisImporter
    from relais_platform.imports.kinds.stock import RelaisStockImporter, SerialsImporter
    from relais_platform.imports.kinds.users import UsersImporter

    classes: list[type[Importer]] = [RelaisImporter, UsersImporter, BeneficiariesImporter,
                                     RelaisStockImporter, SerialsImporter, ProductsImporter]
    return {cls.kind: cls for cls in classes}
