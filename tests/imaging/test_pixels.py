"""Slices in HU and display windows."""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from core.imaging.pixels import PRESETS, load_slice, preset, window
from core.synth.imaging import write_ct_study


def test_load_slice_applies_rescale_to_hu(tmp_path):
    s = write_ct_study(tmp_path, mrn="1", patient_name="A B", birth_date=date(1950, 1, 1), sex="M",
                       study_date=date(2024, 1, 1), lesion=None, body_part="chest", seed=1)
    hu = load_slice(s.files[0])
    assert hu.dtype == np.float32 and hu.shape == (128, 128)
    assert -1030 < hu[:4, :4].mean() < -960  # air, stored as ~0 with intercept -1024


def test_load_slice_of_pydicom_ct_small():
    hu = load_slice(get_testdata_file("CT_small.dcm"))
    assert hu.shape == (128, 128)
    assert 0 < np.median(hu) < 300  # a soft-tissue phantom, rescale applied


def test_load_slice_rejects_colour_and_pixel_less_files():
    with pytest.raises(ValueError, match="colour"):
        load_slice(get_testdata_file("SC_rgb_small_odd.dcm"))
    with pytest.raises(ValueError, match="PixelData"):
        load_slice(get_testdata_file("rtplan.dcm"))


def test_window_maps_center_and_edges():
    hu = np.array([-2000.0, -1350.0, -600.0, 150.0, 3000.0])
    assert window(hu, *PRESETS["lung"]).tolist() == [0, 0, 128, 255, 255]
    assert window(np.array([40.0]), *preset("mediastinum")).tolist() == [128]
    assert set(PRESETS) == {"lung", "mediastinum", "abdomen", "bone"}
    assert PRESETS["bone"] == (400.0, 1800.0) and PRESETS["abdomen"] == (40.0, 350.0)
    with pytest.raises(ValueError):
        window(hu, 0, 0)
    with pytest.raises(ValueError, match="unknown window preset"):
        preset("brain")
