/* Veil UI — a few lines of plain JS on top of pages that work without it.
   ⋯ menus (ARIA menu button), the delete dialog, toasts, copy buttons, confirmations and
   polling of the compliance tables while a request is pending. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function ready(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  // ---- ⋯ menu button: Enter/Space/↓ opens on the first item, ↑ on the last, arrows move,
  // Home/End jump, Escape closes and returns focus, Tab or a click outside closes.
  function setupMenu(root) {
    var button = root.querySelector("[aria-haspopup='menu']");
    var panel = root.querySelector("[role='menu']");
    if (!button || !panel) return;
    var items = function () {
      return Array.prototype.slice.call(panel.querySelectorAll("[role='menuitem']"));
    };
    function open(focusLast) {
      panel.classList.add("open");
      button.setAttribute("aria-expanded", "true");
      var list = items();
      if (list.length) list[focusLast ? list.length - 1 : 0].focus();
    }
    function close(returnFocus) {
      if (!panel.classList.contains("open")) return;
      panel.classList.remove("open");
      button.setAttribute("aria-expanded", "false");
      if (returnFocus) button.focus();
    }
    button.addEventListener("click", function () {
      if (panel.classList.contains("open")) close(false);
      else open(false);
    });
    button.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        open(false);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        open(true);
      }
    });
    panel.addEventListener("keydown", function (event) {
      var list = items();
      var index = list.indexOf(document.activeElement);
      if (event.key === "ArrowDown") {
        event.preventDefault();
        list[(index + 1) % list.length].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        list[(index - 1 + list.length) % list.length].focus();
      } else if (event.key === "Home") {
        event.preventDefault();
        list[0].focus();
      } else if (event.key === "End") {
        event.preventDefault();
        list[list.length - 1].focus();
      } else if (event.key === "Escape") {
        event.preventDefault();
        close(true);
      } else if (event.key === "Tab") {
        close(false);
      }
    });
    document.addEventListener("click", function (event) {
      if (!root.contains(event.target)) close(false);
    });
    panel.addEventListener("click", function (event) {
      if (event.target.closest("[aria-disabled='true']")) {
        event.preventDefault(); // a disabled item says why in its hint, and does nothing
        return;
      }
      if (event.target.closest("[data-opens-dialog]")) close(false);
    });
  }

  // ---- dialogs: opened modal (the page behind is inert), focus kept inside, Escape or
  // Cancel closes, focus goes back to the control that opened it.
  function focusable(container) {
    return Array.prototype.slice
      .call(
        container.querySelectorAll(
          "a[href], button:not([disabled]), input:not([type='hidden']), select, textarea, [tabindex]:not([tabindex='-1'])"
        )
      )
      .filter(function (el) {
        return el.offsetParent !== null;
      });
  }

  function setupDialog(dialog) {
    var opener = null;
    dialog.addEventListener("keydown", function (event) {
      if (event.key !== "Tab") return;
      var list = focusable(dialog);
      if (!list.length) return;
      var first = list[0];
      var last = list[list.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    });
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) dialog.close(); // a click on the backdrop
    });
    dialog.addEventListener("close", function () {
      // The item that opened it sits in a closed menu now: go back to the menu's button.
      var menu = opener && opener.closest("[data-menu]");
      var target = menu ? menu.querySelector("[aria-haspopup]") : opener;
      if (target) target.focus();
    });
    dialog.querySelectorAll("[data-close-dialog]").forEach(function (button) {
      button.addEventListener("click", function () {
        dialog.close();
      });
    });
    document.querySelectorAll("[data-opens-dialog='" + dialog.id + "']").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (typeof dialog.showModal !== "function") return; // follow the link: a confirm page
        event.preventDefault();
        opener = link;
        // Neither opening it nor focusing Cancel may scroll the page behind.
        var x = window.scrollX;
        var y = window.scrollY;
        dialog.showModal();
        var first = dialog.querySelector("[autofocus]") || focusable(dialog)[0];
        if (first) first.focus({ preventScroll: true });
        window.scrollTo(x, y);
      });
    });
  }

  // ---- toasts: leave by themselves (errors stay longer), pause while hovered or focused.
  function setupToast(toast) {
    var delay = toast.classList.contains("toast-error") ? 9000 : 5000;
    var timer = null;
    function dismiss() {
      toast.classList.add("leaving");
      setTimeout(function () {
        toast.remove();
      }, 220);
    }
    function arm() {
      clearTimeout(timer);
      timer = setTimeout(dismiss, delay);
    }
    toast.addEventListener("mouseenter", function () {
      clearTimeout(timer);
    });
    toast.addEventListener("mouseleave", arm);
    toast.addEventListener("focusin", function () {
      clearTimeout(timer);
    });
    var close = toast.querySelector("[data-dismiss]");
    if (close) close.addEventListener("click", dismiss);
    arm();
  }

  // ---- live tables: while a row is pending, fetch the same table again every 2 seconds.
  function setupPoll(region) {
    var url = region.getAttribute("data-poll");
    var timer = null;
    function pending() {
      return region.querySelector("[data-pending]") !== null;
    }
    function refresh() {
      fetch(url, { credentials: "same-origin", headers: { "X-Veil-Fragment": "1" } })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.text();
        })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById(region.id);
          if (fresh) {
            region.replaceChildren.apply(region, Array.prototype.slice.call(fresh.childNodes));
            bindForms(region);
          }
          schedule();
        })
        .catch(function () {
          timer = setTimeout(refresh, 5000);
        });
    }
    function schedule(force) {
      clearTimeout(timer);
      if (force || pending()) timer = setTimeout(refresh, force ? 1500 : 2000);
    }
    region.addEventListener("submit", function (event) {
      // A download keeps the page; pick up its new status a moment later.
      if (event.target.matches("[data-download]")) schedule(true);
    });
    schedule();
  }

  function bindForms(scope) {
    scope.querySelectorAll("form[data-confirm]").forEach(function (form) {
      if (form.dataset.bound) return;
      form.dataset.bound = "1";
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }

  // ---- the top bar on narrow screens scrolls sideways: its fade goes once at the end.
  function setupNavScroll(nav) {
    function update() {
      var atEnd = nav.scrollLeft + nav.clientWidth >= nav.scrollWidth - 2;
      if (atEnd) nav.setAttribute("data-scrolled-end", "");
      else nav.removeAttribute("data-scrolled-end");
    }
    nav.addEventListener("scroll", update, { passive: true });
    window.addEventListener("resize", update);
    var current = nav.querySelector("[aria-current='page']");
    if (current && nav.scrollWidth > nav.clientWidth) {
      nav.scrollLeft = current.offsetLeft - 12;
    }
    update();
  }

  ready(function () {
    document.querySelectorAll(".nav").forEach(setupNavScroll);
    document.querySelectorAll("[data-menu]").forEach(setupMenu);
    document.querySelectorAll("dialog").forEach(setupDialog);
    document.querySelectorAll("[data-toast]").forEach(setupToast);
    document.querySelectorAll("[data-poll]").forEach(setupPoll);
    bindForms(document);
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () {
        select.form.submit();
      });
    });
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.querySelector(button.getAttribute("data-copy"));
        if (!source || !navigator.clipboard) return;
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          var label = button.lastChild;
          var before = label.textContent;
          label.textContent = " Copied";
          setTimeout(function () {
            label.textContent = before;
          }, 1500);
        });
      });
    });
  });
})();
