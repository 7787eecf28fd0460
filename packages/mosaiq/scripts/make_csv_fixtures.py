"""Writes the CSV fixtures of packages/mosaiq/fixtures/ with pandas, the way pymedphys extracts are
written: rows as pymssql returns them (ints, bools, Decimals, datetimes, bytes; None for NULL),
binary columns as URL-safe base64 text, then DataFrame.to_csv. So nullable integer columns come
out as floats (886571.0), bits as True/False, an unnamed index column first.

The rows are small and made up, keyed to the real TxFieldPoint sample in ../shared/data/mosaiq
(fields 88043 and 88064). Columns are those of types_map.toml (Dose_Hst and Offset follow
pymedphys' mock generator). Run with Debian's python3 (python3-pandas):

    /usr/bin/python3 packages/mosaiq/scripts/make_csv_fixtures.py
"""

import base64
import datetime as dt
import pathlib
import shutil
import tomllib
from decimal import Decimal

import pandas as pd

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent / "fixtures"
TYPES = tomllib.loads(
    (HERE.parents[2].parent / "shared" / "data" / "mosaiq" / "types_map.toml").read_text()
)
TYPES["Dose_Hst"] = {
    "DHS_ID": "int", "Pat_ID1": "int", "SIT_ID": "int", "FLD_ID": "int", "Tx_DtTm": "datetime",
}
TYPES["Offset"] = {
    "OFF_ID": "int", "SIT_SET_ID": "int", "Version": "int", "Study_DtTm": "datetime",
    "Offset_State": "int", "Offset_Type": "int", "Superior_Offset": "decimal",
    "Anterior_Offset": "decimal", "Lateral_Offset": "decimal",
}


def t(text):
    return dt.datetime.fromisoformat(text)


def rowvers(n):
    return n.to_bytes(8, "big")


def frame(table, rows):
    """A DataFrame with every column of the table: given values, None elsewhere."""
    columns = list(TYPES[table])
    unknown = {k for r in rows for k in r} - set(columns)
    assert not unknown, (table, unknown)
    records = []
    for r in rows:
        rec = {}
        for c in columns:
            v = r.get(c)
            if isinstance(v, (bytes, bytearray)):
                v = base64.urlsafe_b64encode(v).decode()
            rec[c] = v
        records.append(rec)
    df = pd.DataFrame.from_records(records, columns=columns)
    for c in columns:
        if TYPES[table][c] == "datetime":
            df[c] = pd.to_datetime(df[c])
    return df


def write(df, path, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, **kwargs)
    return path


def char(text, width):
    return text.ljust(width)


PATIENTS = [
    dict(Pat_ID1=30121, Create_DtTm=t("2020-04-20 09:12:01"), Create_ID=805,
         Edit_DtTm=t("2020-04-27 07:40:11.327"), Edit_ID=805, Birth_DtTm=t("1950-03-01"),
         Last_Name="TEST", First_Name="Alpha", Clin_Status=1, Inactive=False,
         RowVers=rowvers(0x1BCF3001)),
    dict(Pat_ID1=30136, Create_DtTm=t("2020-04-21 10:02:44"), Create_ID=805,
         Edit_DtTm=t("2020-04-29 07:31:05.843"), Edit_ID=805, Birth_DtTm=t("1962-11-23"),
         Last_Name="TEST", First_Name="Beta, Jr.", Clin_Status=1, Inactive=False,
         RowVers=rowvers(0x1BCF3002)),
]

IDENTS = [
    dict(IDENT_ID=40121, IDENT_Set_ID=40121, Version=0, Create_DtTm=t("2020-04-20 09:12:01"),
         Create_ID=805, Pat_Id1=30121, IDA="999121", Status_Inactive=False,
         RowVers=rowvers(0x1BCF3101)),
    dict(IDENT_ID=40136, IDENT_Set_ID=40136, Version=0, Create_DtTm=t("2020-04-21 10:02:44"),
         Create_ID=805, Pat_Id1=30136, IDA="999136", Status_Inactive=False,
         RowVers=rowvers(0x1BCF3102)),
]

SITES = [
    dict(SIT_ID=16268, SIT_SET_ID=16268, Version=0, Pat_ID1=30121,
         Create_DtTm=t("2020-04-27 07:50:02"), Create_ID=805,
         Edit_DtTm=t("2020-04-27 07:55:01.117"), Edit_ID=805, Site_Name="Brain",
         Technique="3D", Modality="X", Energy=6, Dose_Tx=Decimal("200.00"),
         Dose_Ttl=Decimal("6000.00"), Fractions=30, Frac_Pattern="MTWTF", Status_Enum=1,
         RowVers=rowvers(0x1BCF3201)),
    dict(SIT_ID=16274, SIT_SET_ID=16274, Version=0, Pat_ID1=30136,
         Create_DtTm=t("2020-04-29 07:45:12"), Create_ID=805,
         Edit_DtTm=t("2020-04-29 07:50:44.520"), Edit_ID=805, Site_Name="Prostate",
         Technique="VMAT", Modality="X", Energy=6, Dose_Tx=Decimal("250.00"),
         Dose_Ttl=Decimal("7000.00"), Fractions=28, Frac_Pattern="MTWTF", Status_Enum=1,
         RowVers=rowvers(0x1BCF3202)),
]

FIELDS = [
    # The two fields of the real TxFieldPoint sample, and one with no control points in the
    # extract and no site set (so SIT_Set_ID is written as floats).
    dict(FLD_ID=88043, FLD_SET_ID=88043, Version=0, Pat_ID1=30121,
         Create_DtTm=t("2020-04-27 07:55:23"), Create_ID=805,
         Edit_DtTm=t("2020-04-27 07:55:24.210"), Edit_ID=805, SIT_Set_ID=16268,
         Field_Label="1-1", Field_Name="3ABUT", Machine_ID_Staff_ID=218, Type_Enum=2,
         Modality_Enum=1, ControlPoints=6, Meterset=Decimal("150.0"), IsHidden=False,
         Notes='Supine, "mask", head rest', RowVers=rowvers(0x1BCF3671)),
    dict(FLD_ID=88064, FLD_SET_ID=88064, Version=0, Pat_ID1=30136,
         Create_DtTm=t("2020-04-29 07:50:46"), Create_ID=805,
         Edit_DtTm=t("2020-04-29 07:50:51.660"), Edit_ID=805, SIT_Set_ID=16274,
         Field_Label="1-1", Field_Name="VMAT", Machine_ID_Staff_ID=218, Type_Enum=13,
         Modality_Enum=1, ControlPoints=111, Meterset=Decimal("426.7"), IsHidden=False,
         RowVers=rowvers(0x1BCF706D)),
    dict(FLD_ID=88070, FLD_SET_ID=88070, Version=0, Pat_ID1=30136,
         Create_DtTm=t("2020-04-29 07:52:10"), Create_ID=805,
         Edit_DtTm=t("2020-04-29 07:52:13.003"), Edit_ID=805, SIT_Set_ID=None,
         Field_Label="SU", Field_Name="kV setup", Machine_ID_Staff_ID=218, Type_Enum=4,
         Modality_Enum=1, ControlPoints=1, Meterset=Decimal("1.0"), IsHidden=False,
         RowVers=rowvers(0x1BCF7070)),
]


def treatment(ttx, created, edited, pat, fld, sit, dhs, qa=False, complete=True):
    return dict(TTX_ID=ttx, Create_DtTm=t(created), Create_ID=805, Edit_DtTm=t(edited),
                Edit_ID=805, Pat_ID1=pat, FLD_ID=fld, SIT_ID=sit, Machine_ID_Staff_ID=218,
                MAC_ID=158, Inst_ID=1, Staff_ID=805, Sent_DtTm=t(created), WasCFS=False,
                WasPassivePlan=False, WasQAMode=qa, WasBeamEnabled=True, WasBeamOn=True,
                WasBeamComplete=complete, WasCanceled=False, WasRecorded=True, DHS_ID=dhs,
                WasResolved=False, RowVers=rowvers(0x1BCF3650 + ttx % 4096))


TREATMENTS = [
    treatment(670321, "2020-04-27 08:03:28.513", "2020-04-27 08:04:22.140", 30121, 88043, 16268, 886571),
    treatment(670553, "2020-04-29 07:45:34.810", "2020-04-29 07:46:37.440", 30121, 88043, 16268, 886745),
    treatment(670561, "2020-04-29 07:51:32.260", "2020-04-29 07:54:33.480", 30136, 88064, 16274, 886749),
    treatment(670563, "2020-04-29 07:54:52.650", "2020-04-29 07:56:30.017", 30136, 88064, 16274, 886750),
    # A QA-mode beam: no dose history, so DHS_ID is NULL and the column is written as floats.
    treatment(670565, "2020-04-29 07:57:11.690", "2020-04-29 07:57:40.850", 30136, 88064, 16274, None,
              qa=True, complete=False),
    treatment(670567, "2020-04-29 07:59:02.137", "2020-04-29 07:59:30.503", 30136, 88070, 16274, 886752),
]

STAFF = [
    dict(Staff_ID=218, PNP_ID=3643, Initials=char("261", 6), Type="Location", Category=0,
         Create_DtTm=t("2012-07-28 16:24:18"), Create_ID=1, Edit_DtTm=t("2020-05-06 19:36:29.150"),
         Edit_ID=23, Last_Name=char("2619", 40), Machine_Type=1, Status_inactive=False,
         Deleted=False, RowVers=rowvers(0x1BECEE9E)),
    dict(Staff_ID=805, PNP_ID=4530, Initials=char("PH", 6), Type="Physicist", Category=0,
         Create_DtTm=t("2014-05-16 09:18:49"), Create_ID=159, Edit_DtTm=t("2020-10-23 16:54:27.153"),
         Edit_ID=159, Last_Name=char("Physicist", 40), First_Name="Test", Machine_Type=0,
         Status_inactive=False, Deleted=False, RowVers=rowvers(0x1DE66530)),
]
# A real Staff extract held two rows with the same Staff_ID (a join repeated the machine row).
STAFF_WITH_REPEAT = [STAFF[0], STAFF[1], STAFF[0]]

DOSES = [
    dict(DHS_ID=d, Pat_ID1=r["Pat_ID1"], SIT_ID=r["SIT_ID"], FLD_ID=r["FLD_ID"],
         Tx_DtTm=r["Edit_DtTm"])
    for r in TREATMENTS
    if (d := r["DHS_ID"]) is not None
]

OFFSETS = [
    dict(OFF_ID=5001, SIT_SET_ID=16268, Version=0, Study_DtTm=t("2020-04-27 07:58:40"),
         Offset_State=2, Offset_Type=2, Superior_Offset=Decimal("0.2"),
         Anterior_Offset=Decimal("-0.1"), Lateral_Offset=Decimal("0.3")),
    dict(OFF_ID=5002, SIT_SET_ID=16274, Version=0, Study_DtTm=t("2020-04-29 07:48:05"),
         Offset_State=2, Offset_Type=3, Superior_Offset=Decimal("-0.4"),
         Anterior_Offset=Decimal("0.0"), Lateral_Offset=None),
]


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    good = ROOT / "pymedphys"
    texts = {}
    for table, rows in [
        ("Patient", PATIENTS), ("Ident", IDENTS), ("Site", SITES), ("TxField", FIELDS),
        ("TrackTreatment", TREATMENTS), ("Staff", STAFF_WITH_REPEAT), ("Dose_Hst", DOSES),
        ("Offset", OFFSETS),
    ]:
        path = write(frame(table, rows), good / f"{table}.csv")
        texts[table] = path.read_text()

    # Variants other tools (or pandas settings) produce.
    variants = ROOT / "pymedphys-variants"
    # Excel-friendly UTF-8 with a byte-order mark, and no index column.
    write(frame("Patient", PATIENTS), variants / "Patient.csv", index=False, encoding="utf-8-sig")
    # Bits read into float columns (NULLs present) come out as 1.0/0.0; others as 1/0 (ints).
    tt = frame("TrackTreatment", TREATMENTS)
    tt.loc[0, "WasResolved"] = None
    for c in ["WasQAMode", "WasBeamComplete", "WasResolved"]:
        tt[c] = tt[c].astype("float64")
    for c in ["WasBeamEnabled", "WasBeamOn", "WasCanceled", "WasRecorded"]:
        tt[c] = tt[c].astype("int64")
    write(tt, variants / "TrackTreatment.csv")

    # Broken extracts: each directory holds one file with one defect.
    bad = ROOT / "pymedphys-bad"

    def broken(case, name, text):
        path = bad / case / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def replace_once(text, old, new):
        assert text.count(old) == 1, (old, text.count(old))
        return text.replace(old, new)

    broken("non-integral-id", "TxField.csv", replace_once(texts["TxField"], "16268.0", "16268.5"))
    broken("impossible-date", "TrackTreatment.csv",
           replace_once(texts["TrackTreatment"], "670553,2020-04-29", "670553,2020-02-30"))
    # The copy stopped inside the last line, right after a date.
    tt_text = texts["TrackTreatment"]
    cut = tt_text.rindex("670567,2020-04-29") + len("670567,2020-04-29")
    broken("cut-line", "TrackTreatment.csv", tt_text[:cut])
    broken("unclosed-quote", "TxField.csv", replace_once(texts["TxField"], ",kV setup,", ',"kV setup,'))
    header, rest = texts["Patient"].split("\n", 1)
    broken("duplicate-header", "Patient.csv",
           replace_once(header, ",First_Name,", ",Last_Name,") + "\n" + rest)
    conflicting = [STAFF[0], STAFF[1], {**STAFF[0], "Last_Name": char("2620", 40)}]
    broken("conflicting-duplicate", "Staff.csv", frame("Staff", conflicting).to_csv())
    # Site.csv holding the TxField extract.
    broken("wrong-header", "Site.csv", texts["TxField"])
    broken("unknown-table", "TxFields.csv", texts["TxField"])
    leaves = bytes(200)
    points = frame("TxFieldPoint", [
        dict(TFP_ID=990001, FLD_ID=88070, Create_DtTm=t("2020-04-29 07:52:10"), Point=0,
             Index=Decimal("0.000"), MLC_Leaves=80, A_Leaf_Set=leaves, B_Leaf_Set=leaves,
             Gantry_Ang=Decimal("0.0"), Coll_Ang=Decimal("0.0"), RowVers=rowvers(1)),
        dict(TFP_ID=990002, FLD_ID=88070, Create_DtTm=t("2020-04-29 07:52:10"), Point=1,
             Index=Decimal("100.000"), MLC_Leaves=80, A_Leaf_Set=leaves, B_Leaf_Set=leaves,
             Gantry_Ang=Decimal("0.0"), Coll_Ang=Decimal("0.0"), RowVers=rowvers(2)),
    ]).to_csv()
    a = base64.urlsafe_b64encode(leaves).decode()
    broken("not-base64", "TxFieldPoint_88070.csv",
           points.replace(f",{a},{a},0.0,0.0,", f",{a[:-4]}@@@=,{a},0.0,0.0,", 1))


if __name__ == "__main__":
    main()
